package dev.mininet.demo.core

import java.io.Closeable

/**
 * The on-device model, behind an interface so the pipeline is tested with a fake and the
 * LiteRT code (`ml/LiteRtSegmenter.kt`) stays a thin adapter.
 */
interface SegmentationModel : Closeable {
    val card: ModelCard
    /** "GPU" or "CPU": what actually runs, after any fallback. */
    val accelerator: String
    /** One uint8 NHWC input tensor in, the raw output tensor bytes out (quantised as stored). */
    fun run(input: ByteArray): ByteArray
}

fun interface Clock {
    fun nanoTime(): Long

    companion object {
        val SYSTEM = Clock { System.nanoTime() }
    }
}

data class StageTimings(val preprocessMs: Double, val inferenceMs: Double, val postprocessMs: Double) {
    val totalMs get() = preprocessMs + inferenceMs + postprocessMs

    fun toJson(): Map<String, Any?> = linkedMapOf(
        "preprocess_ms" to preprocessMs,
        "inference_ms" to inferenceMs,
        "postprocess_ms" to postprocessMs,
    )
}

/** One analysed photo: keeps the raw output so option changes do not re-run the model. */
class Analysis(
    val image: RgbImage,
    val rawOutput: ByteArray,
    val options: PostprocessOptions,
    val mask: Mask,
    val timings: StageTimings,
    val accelerator: String,
)

class SegmentationPipeline(
    private val model: SegmentationModel,
    private val preprocessor: Preprocessor = ResizePreprocessor(model.card),
    private val postprocessor: Postprocessor = ResizeBackPostprocessor(model.card),
    private val clock: Clock = Clock.SYSTEM,
) {
    val card get() = model.card

    fun defaultOptions() = PostprocessOptions(threshold = model.card.threshold)

    fun analyse(image: RgbImage, options: PostprocessOptions = defaultOptions()): Analysis {
        val t0 = clock.nanoTime()
        val input = preprocessor.preprocess(image)
        val t1 = clock.nanoTime()
        val raw = model.run(input)
        val t2 = clock.nanoTime()
        val mask = postprocessor.postprocess(raw, image.width, image.height, options)
        val t3 = clock.nanoTime()
        return Analysis(image, raw, options, mask, StageTimings(ms(t1 - t0), ms(t2 - t1), ms(t3 - t2)), model.accelerator)
    }

    /** New options on an existing analysis: post-processing only, timed again. */
    fun reprocess(analysis: Analysis, options: PostprocessOptions): Analysis {
        val t0 = clock.nanoTime()
        val mask = postprocessor.postprocess(analysis.rawOutput, analysis.image.width, analysis.image.height, options)
        val t1 = clock.nanoTime()
        val timings = analysis.timings.copy(postprocessMs = ms(t1 - t0))
        return Analysis(analysis.image, analysis.rawOutput, options, mask, timings, analysis.accelerator)
    }

    private fun ms(nanos: Long) = nanos / 1e6
}

/**
 * Accelerator choice with fallback: try what the user asked for, fall back to CPU if it cannot
 * be created (no GPU delegate on the device, unsupported ops...). The reason is kept to show it.
 */
object AcceleratorFallback {
    data class Choice<T>(val model: T, val accelerator: String, val fallbackReason: String?)

    fun <T> open(preferGpu: Boolean, gpu: () -> T, cpu: () -> T): Choice<T> {
        if (preferGpu) {
            try {
                return Choice(gpu(), "GPU", null)
            } catch (e: Exception) {
                return Choice(cpu(), "CPU", "GPU unavailable: ${e.message ?: e::class.simpleName}")
            } catch (e: LinkageError) {
                // A missing native delegate library surfaces as UnsatisfiedLinkError.
                return Choice(cpu(), "CPU", "GPU unavailable: ${e.message ?: e::class.simpleName}")
            }
        }
        return Choice(cpu(), "CPU", null)
    }
}
