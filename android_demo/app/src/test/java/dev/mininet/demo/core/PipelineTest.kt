package dev.mininet.demo.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

class PipelineTest {
    /** Fake model: output q = red channel of the input (a bright image is a "lesion"). */
    private class FakeModel(override val card: ModelCard) : SegmentationModel {
        var calls = 0
        var lastInput: ByteArray? = null
        override val accelerator = "CPU"
        override fun run(input: ByteArray): ByteArray {
            calls++
            lastInput = input
            return ByteArray(card.inputWidth * card.inputHeight) { input[it * 3] }
        }
        override fun close() {}
    }

    /** Each reading advances by 1 ms, so every stage lasts exactly 1 ms. */
    private class StepClock : Clock {
        var t = 0L
        override fun nanoTime(): Long { t += 1_000_000; return t }
    }

    private val card = ModelCard.parse(TestSupport.cardJson(size = 8, scale = 1.0 / 255, threshold = 0.5))

    private fun halfBright(w: Int, h: Int) = RgbImage(w, h, ByteArray(w * h * 3) { i ->
        val x = (i / 3) % w
        if (x < w / 2) 250.toByte() else 10
    })

    @Test
    fun analyseRunsTheStagesInOrderAndTimesThem() {
        val model = FakeModel(card)
        val pipeline = SegmentationPipeline(model, clock = StepClock())
        val image = halfBright(16, 12)
        val a = pipeline.analyse(image)
        assertEquals(1, model.calls)
        assertArrayEquals(ResizePreprocessor(card).preprocess(image), model.lastInput)
        assertEquals(8 * 8 * 3, model.lastInput!!.size)
        assertEquals(StageTimings(1.0, 1.0, 1.0), a.timings)
        assertEquals(0.5, a.options.threshold, 0.0)
        assertEquals(16, a.mask.width)
        // Left half bright -> lesion; right half dark -> background.
        assertTrue(a.mask[0, 0] && a.mask[7, 11] && !a.mask[15, 0])
        val m = Measurements.of(a.mask)
        assertEquals(0, m.boundingBox!!.x)
        assertEquals(12, m.boundingBox!!.height)
        assertEquals("CPU", a.accelerator)
    }

    @Test
    fun reprocessDoesNotRunTheModelAgain() {
        val model = FakeModel(card)
        val pipeline = SegmentationPipeline(model, clock = StepClock())
        val a = pipeline.analyse(halfBright(16, 12))
        val strict = pipeline.reprocess(a, a.options.copy(threshold = 0.99))
        assertEquals(1, model.calls)
        assertEquals(0, strict.mask.count())
        assertEquals(a.timings.inferenceMs, strict.timings.inferenceMs, 0.0)
    }

    @Test
    fun dequantisesSignedAndUnsignedOutputs() {
        val u = ModelCard.OutputSpec("uint8", 0.5, 10, 2, 1)
        assertArrayEquals(floatArrayOf(-5f, 122.5f), ResizeBackPostprocessor.dequantize(byteArrayOf(0, 255.toByte()), u), 0f)
        val s = ModelCard.OutputSpec("int8", 0.25, -128, 2, 1)
        assertArrayEquals(floatArrayOf(0f, 63.75f), ResizeBackPostprocessor.dequantize(byteArrayOf(-128, 127), s), 0f)
        val f = ModelCard.OutputSpec("float32", null, null, 1, 1)
        assertArrayEquals(floatArrayOf(0.75f), ResizeBackPostprocessor.dequantize(TestSupport.floatBytesLE(floatArrayOf(0.75f)), f), 0f)
    }

    @Test
    fun thresholdComparesInFloat32() {
        // 0.7 as float32 is 0.699999988; numpy 2 compares float32 maps with float32(0.7).
        val m = ResizeBackPostprocessor.threshold(floatArrayOf(0.7f, 0.69999f), 2, 1, 0.7)
        assertEquals(listOf(true, false), listOf(m[0, 0], m[1, 0]))
    }

    @Test
    fun acceleratorFallsBackToCpu() {
        val gpu = AcceleratorFallback.open(true, gpu = { "g" }, cpu = { "c" })
        assertEquals("GPU", gpu.accelerator)
        assertNull(gpu.fallbackReason)
        val fallback = AcceleratorFallback.open(true, gpu = { throw IllegalStateException("no delegate") }, cpu = { "c" })
        assertEquals("c", fallback.model)
        assertEquals("CPU", fallback.accelerator)
        assertEquals("GPU unavailable: no delegate", fallback.fallbackReason)
        val linkage = AcceleratorFallback.open(true, gpu = { throw UnsatisfiedLinkError("libgpu") }, cpu = { "c" })
        assertEquals("CPU", linkage.accelerator)
        assertEquals("CPU", AcceleratorFallback.open(false, gpu = { "g" }, cpu = { "c" }).accelerator)
    }

    @Test
    fun analysisSizeCapsTheLongestSide() {
        assertEquals(2048 to 1536, AnalysisSize.fit(4000, 3000))
        assertEquals(1536 to 2048, AnalysisSize.fit(3000, 4000))
        assertEquals(640 to 480, AnalysisSize.fit(640, 480))
        val img = RgbImage(40, 10, ByteArray(1200))
        assertEquals(20, AnalysisSize.prepare(img, 20).width)
        assertEquals(5, AnalysisSize.prepare(img, 20).height)
    }
}
