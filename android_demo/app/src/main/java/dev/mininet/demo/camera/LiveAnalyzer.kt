package dev.mininet.demo.camera

import android.graphics.Bitmap
import android.graphics.ImageFormat
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import dev.mininet.demo.core.FrameThrottle
import dev.mininet.demo.core.FramingCue
import dev.mininet.demo.core.LiveResult
import dev.mininet.demo.core.LiveSegmenter
import dev.mininet.demo.core.LiveStats
import dev.mininet.demo.core.LiveTimings
import dev.mininet.demo.core.Overlay
import dev.mininet.demo.core.SegmentationModel
import dev.mininet.demo.core.YuvFrame
import dev.mininet.demo.core.YuvPlane
import java.util.concurrent.Executor

/** What the camera screen draws over the preview after each processed frame. */
class LiveOverlay(
    /** The mask at model size (transparent outside the lesion), stretched over the frame when drawn. */
    val mask: Bitmap?,
    /** Upright frame size: the overlay covers the preview area with this aspect ratio. */
    val frameWidth: Int,
    val frameHeight: Int,
    val cue: FramingCue?,
    val timings: LiveTimings?,
    val stats: LiveStats,
    val error: String?,
)

/**
 * CameraX analyzer of the live preview: YUV_420_888 frame -> core ([LiveSegmenter]: conversion,
 * the model's resize contract, inference, framing cue) -> [LiveOverlay] on [resultExecutor].
 *
 * Runs on the single analysis thread CameraX calls it on. Everything but the plane copies and
 * the bitmap is in the JVM-tested core.
 */
class LiveAnalyzer(
    private val model: () -> SegmentationModel?,
    /** True while the still path uses the interpreter: live frames yield to it. */
    private val busyElsewhere: () -> Boolean,
    private val resultExecutor: Executor,
    private val onUpdate: (LiveOverlay) -> Unit,
    targetFps: Double = DEFAULT_TARGET_FPS,
) : ImageAnalysis.Analyzer {
    private val throttle = FrameThrottle.forTargetFps(targetFps)
    private var segmenter: LiveSegmenter? = null
    private var yBytes = ByteArray(0)
    private var uBytes = ByteArray(0)
    private var vBytes = ByteArray(0)

    override fun analyze(image: ImageProxy) {
        // Closing the proxy is what lets CameraX deliver the next (latest) frame: always close.
        image.use {
            val current = model() ?: return
            if (!throttle.offer(busyElsewhere())) return
            var result: LiveResult? = null
            var error: String? = null
            try {
                // A reloaded model (GPU switch) gets a fresh segmenter and steadiness history.
                val live = segmenter?.takeIf { s -> s.model === current } ?: LiveSegmenter(current).also { s -> segmenter = s }
                result = live.process(toFrame(image))
            } catch (e: RuntimeException) {
                // E.g. the interpreter closed under us while the user left the screen.
                error = e.message ?: e::class.java.simpleName
            } finally {
                throttle.finish()
            }
            val stats = throttle.stats()
            val r = result
            val out = if (r == null) {
                LiveOverlay(null, 0, 0, null, null, stats, error)
            } else {
                val argb = Overlay.maskArgb(r.mask, alpha = LIVE_ALPHA)
                val bitmap = Bitmap.createBitmap(argb, r.mask.width, r.mask.height, Bitmap.Config.ARGB_8888)
                LiveOverlay(bitmap, r.frameWidth, r.frameHeight, r.framing.cue, r.timings, stats, null)
            }
            resultExecutor.execute { onUpdate(out) }
        }
    }

    private fun toFrame(image: ImageProxy): YuvFrame {
        require(image.format == ImageFormat.YUV_420_888) { "analysis frame format ${image.format} is not YUV_420_888" }
        val planes = image.planes
        yBytes = copy(planes[0], yBytes)
        uBytes = copy(planes[1], uBytes)
        vBytes = copy(planes[2], vBytes)
        return YuvFrame(
            image.width,
            image.height,
            YuvPlane(yBytes, planes[0].rowStride, planes[0].pixelStride),
            YuvPlane(uBytes, planes[1].rowStride, planes[1].pixelStride),
            YuvPlane(vBytes, planes[2].rowStride, planes[2].pixelStride),
            image.imageInfo.rotationDegrees,
        )
    }

    /** Plane bytes into a reused array; a duplicate view so the proxy's buffer position is untouched. */
    private fun copy(plane: ImageProxy.PlaneProxy, reuse: ByteArray): ByteArray {
        val buffer = plane.buffer.duplicate()
        buffer.rewind()
        val out = if (reuse.size == buffer.remaining()) reuse else ByteArray(buffer.remaining())
        buffer.get(out)
        return out
    }

    companion object {
        /** A cap, not a promise: phones slower than this simply process fewer frames. */
        const val DEFAULT_TARGET_FPS = 10.0
        const val LIVE_ALPHA = 0x66
    }
}
