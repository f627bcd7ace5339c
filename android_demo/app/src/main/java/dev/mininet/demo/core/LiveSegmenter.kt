package dev.mininet.demo.core

data class LiveTimings(val convertMs: Double, val resizeMs: Double, val inferenceMs: Double, val cueMs: Double) {
    val totalMs get() = convertMs + resizeMs + inferenceMs + cueMs
}

/** One segmented preview frame. [mask] is at the model's output size and covers the whole upright frame. */
class LiveResult(
    val mask: Mask,
    val framing: FramingState,
    val frameWidth: Int,
    val frameHeight: Int,
    val timings: LiveTimings,
)

/**
 * Segments camera frames for the live preview.
 *
 * The model input is the card's contract applied to the frame: the upright RGB frame resized
 * with Pillow's BILINEAR ([ResizePreprocessor]), so a live frame and a still photo of the same
 * scene reach the model the same way, up to the camera's own processing and resolution. The
 * output is only thresholded at model size (no resize back): the overlay is stretched over the
 * preview and the cue works on shares of the frame, so the full-resolution mask would cost time
 * without changing either. The still capture keeps the exact path ([SegmentationPipeline]).
 */
class LiveSegmenter(
    val model: SegmentationModel,
    private val range: YuvRange = YuvRange.FULL,
    val advisor: FramingAdvisor = FramingAdvisor(),
    private val clock: Clock = Clock.SYSTEM,
) {
    private val preprocessor = ResizePreprocessor(model.card)

    fun process(frame: YuvFrame): LiveResult {
        val card = model.card
        val t0 = clock.nanoTime()
        val rgb = YuvToRgb.convert(frame, range)
        val t1 = clock.nanoTime()
        val input = preprocessor.preprocess(rgb)
        val t2 = clock.nanoTime()
        val raw = model.run(input)
        val t3 = clock.nanoTime()
        val prob = ResizeBackPostprocessor.dequantize(raw, card.output)
        val mask = ResizeBackPostprocessor.threshold(prob, card.output.width, card.output.height, card.threshold)
        val framing = advisor.update(mask)
        val t4 = clock.nanoTime()
        return LiveResult(mask, framing, rgb.width, rgb.height, LiveTimings(ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t4 - t3)))
    }

    private fun ms(nanos: Long) = nanos / 1e6
}
