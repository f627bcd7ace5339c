package dev.mininet.demo.ui

import android.graphics.BitmapFactory
import androidx.compose.foundation.Image
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Card
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.produceState
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import dev.mininet.demo.DemoViewModel
import dev.mininet.demo.R
import dev.mininet.demo.Screen
import dev.mininet.demo.core.SavedResult
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import java.text.DateFormat
import java.util.Date
import java.util.Locale

@Composable
fun HistoryScreen(vm: DemoViewModel) {
    Column(Modifier.fillMaxSize().padding(12.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        ResearchNotice()
        OutlinedButton(onClick = { vm.screen = Screen.HOME }) { Text(stringResource(R.string.action_back)) }
        if (vm.history.isEmpty()) Text(stringResource(R.string.history_empty))
        LazyColumn(verticalArrangement = Arrangement.spacedBy(8.dp)) {
            items(vm.history, key = { it.record.id }) { HistoryItem(vm, it) }
        }
    }
}

@Composable
private fun HistoryItem(vm: DemoViewModel, item: SavedResult) {
    val context = LocalContext.current
    val thumb by produceState<ImageBitmap?>(null, item.overlay) {
        value = withContext(Dispatchers.IO) {
            val opts = BitmapFactory.Options().apply { inSampleSize = 8 }
            BitmapFactory.decodeFile(item.overlay.path, opts)?.asImageBitmap()
        }
    }
    val r = item.record
    val m = r.measurements
    Card {
        Row(Modifier.padding(8.dp), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            thumb?.let { Image(it, contentDescription = "saved overlay", modifier = Modifier.size(96.dp)) }
            Column(verticalArrangement = Arrangement.spacedBy(4.dp)) {
                Text(DateFormat.getDateTimeInstance().format(Date(r.createdAtMillis)))
                Text(String.format(Locale.ROOT, "%d px · %.2f %%", m.areaPx, m.areaPercent))
                m.areaMm2?.let { Text(String.format(Locale.ROOT, "%.2f mm² · Ø %.2f mm", it, m.equivalentDiameterMm)) }
                Text("${r.modelFile} · ${r.accelerator} · t=${"%.2f".format(Locale.ROOT, r.options.threshold)}")
                Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    OutlinedButton(onClick = { vm.share(context, item) }) { Text(stringResource(R.string.action_share)) }
                    OutlinedButton(onClick = { vm.delete(r.id) }) { Text(stringResource(R.string.action_delete)) }
                }
            }
        }
    }
}
