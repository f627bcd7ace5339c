package dev.mininet.demo.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Test

class LiveSegmenterTest {
    /** Lesion probability = the input's red channel / 255. */
    private class FakeModel(override val card: ModelCard) : SegmentationModel {
        var lastInput: ByteArray? = null
        override val accelerator = "CPU"
        override fun run(input: ByteArray): ByteArray {
            lastInput = input
            return ByteArray(card.inputWidth * card.inputHeight) { input[it * 3] }
        }
        override fun close() {}
    }

    private class StepClock : Clock {
        var t = 0L
        override fun nanoTime(): Long { t += 1_000_000; return t }
    }

    private val card = ModelCard.parse(TestSupport.cardJson(size = 8, scale = 1.0 / 255, threshold = 0.5))

    /** 40x30 grey frame (U = V = 128), bright square in the middle, I420 with padded rows. */
    private fun frame(rotation: Int): YuvFrame {
        val w = 40
        val h = 30
        val stride = 48
        val y = ByteArray((h - 1) * stride + w)
        for (r in 0 until h) for (c in 0 until w) y[r * stride + c] = (if (c in 12..27 && r in 8..21) 240 else 20).toByte()
        val chroma = ByteArray(14 * 24 + 20) { 128.toByte() }
        return YuvFrame(w, h, YuvPlane(y, stride, 1), YuvPlane(chroma, 24, 1), YuvPlane(chroma.copyOf(), 24, 1), rotation)
    }

    @Test
    fun feedsTheModelTheStillContractOfTheUprightFrameAndThresholdsAtModelSize() {
        val model = FakeModel(card)
        val live = LiveSegmenter(model, clock = StepClock())
        val f = frame(90)
        val result = live.process(f)
        val upright = YuvToRgb.convert(f)
        assertArrayEquals(ResizePreprocessor(card).preprocess(upright), model.lastInput)
        assertEquals(30, result.frameWidth)
        assertEquals(40, result.frameHeight)
        assertEquals(8, result.mask.width)
        val expected = ByteArray(64) { if ((model.lastInput!![it * 3].toInt() and 0xFF) >= 128) 1 else 0 }
        assertArrayEquals(expected, result.mask.data)
        // The bright square covers 16 x 14 of 40 x 30 = 18.7 % of the frame, centred.
        assertEquals(FramingCue.HOLD_STEADY, result.framing.cue)
        assertEquals(LiveTimings(1.0, 1.0, 1.0, 1.0), result.timings)
        repeat(2) { live.process(f) }
        assertEquals(FramingCue.READY, live.process(f).framing.cue)
    }

    @Test
    fun maskOverlayIsTransparentOutsideTheLesion() {
        val m = Mask(4, 4)
        for (y in 0..2) for (x in 0..2) m[x, y] = true
        val argb = Overlay.maskArgb(m, color = 0xFF112233.toInt(), alpha = 0x80)
        assertEquals(0, argb[3]) // background
        assertEquals(0x80112233.toInt(), argb[1 * 4 + 1]) // interior: fill at alpha
        assertEquals(0xFF112233.toInt(), argb[0]) // on the image edge
        assertEquals(0xFF112233.toInt(), argb[2 * 4 + 2]) // next to background
        assertEquals(0x80112233.toInt(), Overlay.maskArgb(m, 0xFF112233.toInt(), 0x80, outline = false)[0])
    }
}
