package dev.mininet.demo.ui

import androidx.compose.foundation.Image
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Slider
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.produceState
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import dev.mininet.demo.DemoViewModel
import dev.mininet.demo.R
import dev.mininet.demo.Screen
import dev.mininet.demo.io.ImageDecoding
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import java.util.Locale

@Composable
fun ResultScreen(vm: DemoViewModel) {
    val a = vm.analysis
    if (a == null) {
        OutlinedButton(onClick = { vm.screen = Screen.HOME }) { Text(stringResource(R.string.action_back)) }
        return
    }
    val context = LocalContext.current
    // The overlay is recomputed off the main thread when the mask, opacity or outline change.
    val overlay by produceState<ImageBitmap?>(null, a, vm.opacityPercent, vm.outline) {
        value = withContext(Dispatchers.Default) {
            ImageDecoding.toBitmap(a.image.width, a.image.height, vm.overlayArgb(a)).asImageBitmap()
        }
    }
    val m = vm.measurements()
    Column(Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(12.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        ResearchNotice()
        overlay?.let { Image(it, contentDescription = "photo with lesion mask", modifier = Modifier.fillMaxWidth().heightIn(max = 480.dp)) }
        Text(stringResource(R.string.label_opacity) + " ${vm.opacityPercent} %")
        Slider(value = vm.opacityPercent.toFloat(), onValueChange = { vm.opacityPercent = it.toInt() }, valueRange = 0f..100f)
        Toggle(stringResource(R.string.label_outline), vm.outline) { vm.outline = it }
        Toggle(stringResource(R.string.label_largest), a.options.largestComponent) { vm.setOptions(it, a.options.fillHoles) }
        Toggle(stringResource(R.string.label_fill_holes), a.options.fillHoles) { vm.setOptions(a.options.largestComponent, it) }
        Text(stringResource(R.string.label_threshold, String.format(Locale.ROOT, "%.2f", a.options.threshold)))
        Text(stringResource(R.string.label_accelerator, a.accelerator))
        Text(stringResource(R.string.label_timings, a.timings.preprocessMs, a.timings.inferenceMs, a.timings.postprocessMs))
        vm.photo?.let { Text("Decode ${"%.0f".format(Locale.ROOT, it.decodeMs)} ms · analysed ${a.image.width}x${a.image.height} of ${it.originalWidth}x${it.originalHeight}") }

        Text("Measurements", style = MaterialTheme.typography.titleMedium)
        if (m != null) {
            Text(String.format(Locale.ROOT, "Area %d px (%.2f %% of the image)", m.areaPx, m.areaPercent))
            m.boundingBox?.let { Text("Bounding box x ${it.x}, y ${it.y}, ${it.width} x ${it.height} px") }
            Text(String.format(Locale.ROOT, "Equivalent diameter %.1f px", m.equivalentDiameterPx))
            if (m.mmPerPixel != null) {
                Text(String.format(Locale.ROOT, "Area %.2f mm² · equivalent diameter %.2f mm", m.areaMm2, m.equivalentDiameterMm))
                m.boundingBoxMm?.let { Text(String.format(Locale.ROOT, "Bounding box %.2f x %.2f mm", it.first, it.second)) }
            } else {
                Text("Enter the dermatoscope's field of view or a scale for millimetres.")
            }
        }
        OutlinedTextField(
            value = vm.fovMmText, onValueChange = { vm.fovMmText = it; vm.pxPerMmText = "" },
            label = { Text(stringResource(R.string.label_fov)) },
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Decimal), singleLine = true,
        )
        OutlinedTextField(
            value = vm.pxPerMmText, onValueChange = { vm.pxPerMmText = it; vm.fovMmText = "" },
            label = { Text(stringResource(R.string.label_px_per_mm)) },
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Decimal), singleLine = true,
        )
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            OutlinedButton(onClick = { vm.screen = Screen.HOME }) { Text(stringResource(R.string.action_back)) }
            Button(onClick = { vm.save() }, enabled = vm.saved == null) { Text(stringResource(if (vm.saved == null) R.string.action_save else R.string.saved)) }
            Button(onClick = { vm.shareCurrent(context) }) { Text(stringResource(R.string.action_share)) }
        }
    }
}

@Composable
private fun Toggle(label: String, checked: Boolean, onChange: (Boolean) -> Unit) {
    Row(verticalAlignment = Alignment.CenterVertically) {
        Switch(checked = checked, onCheckedChange = onChange)
        Text(label, Modifier.padding(start = 8.dp))
    }
}
