package dev.mininet.demo.ui

import android.Manifest
import android.annotation.SuppressLint
import android.content.pm.PackageManager
import android.net.Uri
import android.util.Size
import android.view.MotionEvent
import android.view.OrientationEventListener
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.camera.core.Camera
import androidx.camera.core.CameraSelector
import androidx.camera.core.FocusMeteringAction
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageCapture
import androidx.camera.core.ImageCaptureException
import androidx.camera.core.Preview
import androidx.camera.core.resolutionselector.AspectRatioStrategy
import androidx.camera.core.resolutionselector.ResolutionSelector
import androidx.camera.core.resolutionselector.ResolutionStrategy
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.compose.foundation.Canvas
import androidx.compose.foundation.background
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.graphics.FilterQuality
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.IntOffset
import androidx.compose.ui.unit.IntSize
import androidx.compose.ui.unit.dp
import androidx.compose.ui.viewinterop.AndroidView
import androidx.core.content.ContextCompat
import androidx.lifecycle.compose.LocalLifecycleOwner
import dev.mininet.demo.R
import dev.mininet.demo.camera.LiveAnalyzer
import dev.mininet.demo.camera.LiveOverlay
import dev.mininet.demo.core.ExifOrientation
import dev.mininet.demo.core.FramingCue
import dev.mininet.demo.core.SegmentationModel
import java.io.File
import java.util.concurrent.Executors
import kotlin.math.min
import kotlin.math.roundToInt

/**
 * CameraX preview + full-resolution still capture, with an optional live outline.
 *
 * Orientation: the capture's target rotation follows the *device* (OrientationEventListener),
 * not the UI, so a photo taken in any of the four rotations is saved with the right EXIF
 * orientation, which [dev.mininet.demo.io.ImageDecoding] applies (tested in the core). The
 * analysis use case keeps the display rotation instead: its mask is drawn over the preview,
 * which is shown in display orientation.
 *
 * Live outline: a 640x480-class YUV stream (ImageAnalysis, keep-only-latest) is segmented by
 * [LiveAnalyzer] and its mask, framing cue and speed are drawn over the preview. Both streams
 * are 4:3 and the preview is FIT_CENTER, so the mask covers the same field of view as the
 * preview; the photo itself still goes through the full-resolution still path.
 */
@SuppressLint("ClickableViewAccessibility")
@Composable
fun CameraScreen(
    onCaptured: (Uri) -> Unit,
    onBack: () -> Unit,
    liveModel: () -> SegmentationModel?,
    modelBusy: () -> Boolean,
) {
    val context = LocalContext.current
    val lifecycleOwner = LocalLifecycleOwner.current
    var granted by remember {
        mutableStateOf(ContextCompat.checkSelfPermission(context, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED)
    }
    val permission = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { granted = it }
    LaunchedEffect(Unit) { if (!granted) permission.launch(Manifest.permission.CAMERA) }

    Column(Modifier.fillMaxSize()) {
        ResearchNotice()
        if (!granted) {
            Text(stringResource(R.string.camera_permission_needed), Modifier.padding(16.dp))
            OutlinedButton(onClick = onBack, modifier = Modifier.padding(16.dp)) { Text(stringResource(R.string.action_back)) }
            return@Column
        }
        val imageCapture = remember {
            ImageCapture.Builder()
                .setCaptureMode(ImageCapture.CAPTURE_MODE_MAXIMIZE_QUALITY)
                .setResolutionSelector(
                    ResolutionSelector.Builder()
                        .setAspectRatioStrategy(AspectRatioStrategy.RATIO_4_3_FALLBACK_AUTO_STRATEGY)
                        .setResolutionStrategy(ResolutionStrategy.HIGHEST_AVAILABLE_STRATEGY)
                        .build(),
                )
                .build()
        }
        val imageAnalysis = remember {
            ImageAnalysis.Builder()
                .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_YUV_420_888)
                .setResolutionSelector(
                    ResolutionSelector.Builder()
                        .setAspectRatioStrategy(AspectRatioStrategy.RATIO_4_3_FALLBACK_AUTO_STRATEGY)
                        // The model input is 128x128-class: more pixels only cost conversion time.
                        .setResolutionStrategy(
                            ResolutionStrategy(Size(640, 480), ResolutionStrategy.FALLBACK_RULE_CLOSEST_HIGHER_THEN_LOWER),
                        )
                        .build(),
                )
                .build()
        }
        var camera by remember { mutableStateOf<Camera?>(null) }
        var capturing by remember { mutableStateOf(false) }
        var liveEnabled by remember { mutableStateOf(true) }
        var live by remember { mutableStateOf<LiveOverlay?>(null) }

        DisposableEffect(liveEnabled) {
            if (!liveEnabled) {
                live = null
                return@DisposableEffect onDispose {}
            }
            val executor = Executors.newSingleThreadExecutor()
            val analyzer = LiveAnalyzer(
                model = liveModel,
                busyElsewhere = { capturing || modelBusy() },
                resultExecutor = ContextCompat.getMainExecutor(context),
                onUpdate = { if (liveEnabled) live = it },
            )
            imageAnalysis.setAnalyzer(executor, analyzer)
            onDispose {
                imageAnalysis.clearAnalyzer()
                executor.shutdown()
            }
        }

        DisposableEffect(Unit) {
            val listener = object : OrientationEventListener(context) {
                override fun onOrientationChanged(orientation: Int) {
                    ExifOrientation.targetRotationForDeviceDegrees(orientation)?.let { imageCapture.targetRotation = it }
                }
            }
            listener.enable()
            onDispose { listener.disable() }
        }

        Box(Modifier.weight(1f).fillMaxWidth()) {
            AndroidView(
                factory = { ctx ->
                    PreviewView(ctx).also { view ->
                        view.scaleType = PreviewView.ScaleType.FIT_CENTER
                        val providerFuture = ProcessCameraProvider.getInstance(ctx)
                        providerFuture.addListener({
                            val provider = providerFuture.get()
                            val preview = Preview.Builder()
                                .setResolutionSelector(
                                    ResolutionSelector.Builder()
                                        .setAspectRatioStrategy(AspectRatioStrategy.RATIO_4_3_FALLBACK_AUTO_STRATEGY)
                                        .build(),
                                )
                                .build()
                                .also { it.setSurfaceProvider(view.surfaceProvider) }
                            provider.unbindAll()
                            // Preview + ImageAnalysis + ImageCapture: a combination every CameraX device supports.
                            camera = provider.bindToLifecycle(
                                lifecycleOwner, CameraSelector.DEFAULT_BACK_CAMERA, preview, imageCapture, imageAnalysis,
                            )
                        }, ContextCompat.getMainExecutor(ctx))
                        // Tap to focus: dermoscopy is close-up, autofocus often needs a hint.
                        view.setOnTouchListener { v, event ->
                            if (event.action == MotionEvent.ACTION_UP) {
                                val point = view.meteringPointFactory.createPoint(event.x, event.y)
                                camera?.cameraControl?.startFocusAndMetering(FocusMeteringAction.Builder(point).build())
                                v.performClick()
                            }
                            true
                        }
                    }
                },
                modifier = Modifier.fillMaxSize(),
            )
            live?.let { LiveLayer(it, Modifier.fillMaxSize()) }
        }
        Row(Modifier.fillMaxWidth().padding(horizontal = 16.dp), verticalAlignment = Alignment.CenterVertically) {
            Switch(checked = liveEnabled, onCheckedChange = { liveEnabled = it })
            Text(stringResource(R.string.label_live), Modifier.padding(start = 8.dp))
        }
        Row(Modifier.fillMaxWidth().padding(16.dp), horizontalArrangement = Arrangement.SpaceBetween, verticalAlignment = Alignment.CenterVertically) {
            OutlinedButton(onClick = onBack) { Text(stringResource(R.string.action_back)) }
            Button(enabled = !capturing, onClick = {
                capturing = true
                val file = File(context.cacheDir, "capture_${System.currentTimeMillis()}.jpg")
                imageCapture.takePicture(
                    ImageCapture.OutputFileOptions.Builder(file).build(),
                    ContextCompat.getMainExecutor(context),
                    object : ImageCapture.OnImageSavedCallback {
                        override fun onImageSaved(output: ImageCapture.OutputFileResults) {
                            capturing = false
                            onCaptured(Uri.fromFile(file))
                        }

                        override fun onError(exception: ImageCaptureException) {
                            capturing = false
                            file.delete()
                        }
                    },
                )
            }) { Text(stringResource(R.string.action_capture)) }
        }
        Text(stringResource(R.string.capture_tips), Modifier.padding(horizontal = 16.dp, vertical = 8.dp))
    }
}

/** The live mask over the preview's content area, plus the cue and speed text. */
@Composable
private fun LiveLayer(live: LiveOverlay, modifier: Modifier) {
    Box(modifier) {
        val mask = live.mask
        if (mask != null && live.frameWidth > 0) {
            val image = remember(mask) { mask.asImageBitmap() }
            Canvas(Modifier.fillMaxSize()) {
                // Where PreviewView's FIT_CENTER puts a frame of this aspect ratio.
                val scale = min(size.width / live.frameWidth, size.height / live.frameHeight)
                val w = live.frameWidth * scale
                val h = live.frameHeight * scale
                drawImage(
                    image,
                    dstOffset = IntOffset(((size.width - w) / 2).roundToInt(), ((size.height - h) / 2).roundToInt()),
                    dstSize = IntSize(w.roundToInt(), h.roundToInt()),
                    filterQuality = FilterQuality.Low,
                )
            }
        }
        Column(Modifier.align(Alignment.TopCenter).padding(8.dp).background(Color(0xAA000000)).padding(8.dp)) {
            val cueText = live.error?.let { stringResource(R.string.live_error, it) } ?: live.cue?.let { stringResource(cueLabel(it)) }
            cueText?.let { Text(it, color = Color.White) }
            Text(
                stringResource(R.string.live_stats, live.stats.fps, live.stats.meanLatencyMs, live.stats.dropped),
                color = Color.White,
            )
        }
    }
}

private fun cueLabel(cue: FramingCue) = when (cue) {
    FramingCue.NO_LESION -> R.string.cue_no_lesion
    FramingCue.MOVE_BACK -> R.string.cue_move_back
    FramingCue.RECENTRE -> R.string.cue_recentre
    FramingCue.MOVE_CLOSER -> R.string.cue_move_closer
    FramingCue.HOLD_STEADY -> R.string.cue_hold_steady
    FramingCue.READY -> R.string.cue_ready
}
