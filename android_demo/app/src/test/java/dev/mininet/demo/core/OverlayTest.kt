package dev.mininet.demo.core

import org.junit.Assert.assertEquals
import org.junit.Test

class OverlayTest {
    private val image = RgbImage(5, 5, ByteArray(75) { 100 })

    private fun centreBlock(): Mask {
        val m = Mask(5, 5)
        for (y in 1..3) for (x in 1..3) m[x, y] = true
        return m
    }

    @Test
    fun blendsInsideAndOutlinesTheBorder() {
        val color = 0xFF00FF00.toInt()
        val out = Overlay.render(image, centreBlock(), color, alpha = 128, outline = true)
        assertEquals(0xFF646464.toInt(), out[0]) // outside: unchanged
        assertEquals(color, out[1 * 5 + 1]) // border of the block: solid colour
        // Interior: (100 * 127 + 255 * 128 + 127) / 255 = 178 for green, 100 * 127 / 255 ~ 50 else.
        val g = (100 * 127 + 255 * 128 + 127) / 255
        val rb = (100 * 127 + 127) / 255
        assertEquals((0xFF shl 24) or (rb shl 16) or (g shl 8) or rb, out[2 * 5 + 2])
    }

    @Test
    fun noOutlineAndZeroAlphaLeaveTheImage() {
        val out = Overlay.render(image, centreBlock(), alpha = 0, outline = false)
        for (p in out) assertEquals(0xFF646464.toInt(), p)
    }

    @Test
    fun maskTouchingTheImageEdgeIsOutlinedThere() {
        val m = Mask(3, 1, byteArrayOf(1, 1, 1))
        val out = Overlay.render(RgbImage(3, 1, ByteArray(9)), m, 0xFFFF0000.toInt(), alpha = 10, outline = true)
        for (p in out) assertEquals(0xFFFF0000.toInt(), p)
    }

    @Test
    fun sliderPercentToAlpha() {
        assertEquals(0, Overlay.alphaForPercent(0))
        assertEquals(128, Overlay.alphaForPercent(50))
        assertEquals(255, Overlay.alphaForPercent(100))
        assertEquals(255, Overlay.alphaForPercent(150))
    }
}
