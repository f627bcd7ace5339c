package dev.mininet.demo.ui

import androidx.activity.compose.BackHandler
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.background
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Surface
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.lightColorScheme
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import dev.mininet.demo.DemoViewModel
import dev.mininet.demo.R
import dev.mininet.demo.Screen

private val Brown = Color(0xFF6D4C41)

@Composable
fun DemoApp(vm: DemoViewModel) {
    MaterialTheme(colorScheme = lightColorScheme(primary = Brown, secondary = Color(0xFFE53935))) {
        Surface(Modifier.fillMaxSize()) {
            Box(Modifier.fillMaxSize()) {
                when (vm.screen) {
                    Screen.HOME -> HomeScreen(vm)
                    Screen.CAMERA -> CameraScreen(
                        onCaptured = { uri -> vm.analyse(uri, "camera") },
                        onBack = { vm.screen = Screen.HOME },
                        liveModel = { vm.liveModel() },
                        modelBusy = { vm.busy },
                    )
                    Screen.RESULT -> ResultScreen(vm)
                    Screen.HISTORY -> HistoryScreen(vm)
                }
                if (vm.screen != Screen.HOME) BackHandler { vm.screen = Screen.HOME }
                if (vm.busy) {
                    Box(Modifier.fillMaxSize().background(Color(0x66000000)), contentAlignment = Alignment.Center) {
                        CircularProgressIndicator()
                    }
                }
                vm.message?.let { text ->
                    LaunchedEffect(text) {
                        kotlinx.coroutines.delay(4000)
                        vm.message = null
                    }
                    Text(
                        text,
                        color = Color.White,
                        modifier = Modifier.align(Alignment.BottomCenter).padding(16.dp)
                            .background(Color(0xDD333333)).padding(12.dp),
                    )
                }
            }
        }
    }
}

/** The notice shown on every screen that displays a result or leads to one. */
@Composable
fun ResearchNotice() {
    Text(
        stringResource(R.string.research_notice),
        color = Color.White,
        style = MaterialTheme.typography.bodySmall,
        modifier = Modifier.fillMaxWidth().background(Color(0xFFB71C1C)).padding(8.dp),
    )
}

@Composable
fun HomeScreen(vm: DemoViewModel) {
    val picker = rememberLauncherForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) vm.analyse(uri, "gallery")
    }
    Column(Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        Text(stringResource(R.string.app_name), style = MaterialTheme.typography.headlineMedium)
        ResearchNotice()
        vm.modelStatus?.let { s ->
            Text("Model: ${s.card.versionLabel} · ${s.card.inputWidth}x${s.card.inputHeight} · ${s.card.dataset ?: "?"}")
            Text(stringResource(R.string.label_accelerator, s.accelerator))
            s.fallbackReason?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        }
        Row(verticalAlignment = Alignment.CenterVertically) {
            Switch(checked = vm.preferGpu, onCheckedChange = { vm.setPreferGpu(it) })
            Text(stringResource(R.string.label_prefer_gpu), Modifier.padding(start = 8.dp))
        }
        Button(onClick = { vm.screen = Screen.CAMERA }, modifier = Modifier.fillMaxWidth()) { Text(stringResource(R.string.action_camera)) }
        OutlinedButton(
            onClick = { picker.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly)) },
            modifier = Modifier.fillMaxWidth(),
        ) { Text(stringResource(R.string.action_gallery)) }
        OutlinedButton(onClick = { vm.loadHistory(); vm.screen = Screen.HISTORY }, modifier = Modifier.fillMaxWidth()) {
            Text(stringResource(R.string.action_history))
        }
        Text(stringResource(R.string.capture_tips_title), style = MaterialTheme.typography.titleMedium)
        Text(stringResource(R.string.capture_tips))
    }
}
