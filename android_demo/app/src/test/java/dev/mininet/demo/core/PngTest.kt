package dev.mininet.demo.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Test

class PngTest {
    @Test
    fun grayMaskRoundTripsThroughImageIO() {
        val m = Mask(7, 5)
        for (i in 0 until 35) m.data[i] = if (i % 3 == 0) 1 else 0
        val (size, bands, bytes) = TestSupport.readPng(PngWriter.mask(m))
        assertEquals(7 to 5, size)
        assertEquals(1, bands)
        assertArrayEquals(m.toGray(), bytes)
    }

    @Test
    fun rgbRoundTripsExactly() {
        val img = RgbImage(13, 4, ByteArray(13 * 4 * 3) { (it * 37 + 11).toByte() })
        val (size, bands, bytes) = TestSupport.readPng(PngWriter.rgb(img))
        assertEquals(13 to 4, size)
        assertEquals(3, bands)
        assertArrayEquals(img.data, bytes)
        val (_, _, fromArgb) = TestSupport.readPng(PngWriter.argb(13, 4, img.toArgb()))
        assertArrayEquals(img.data, fromArgb)
    }

    @Test
    fun argbConversionDropsAlphaOnly() {
        val argb = intArrayOf(0x80123456.toInt(), 0xFFABCDEF.toInt())
        val img = RgbImage.fromArgb(2, 1, argb)
        assertArrayEquals(intArrayOf(0xFF123456.toInt(), 0xFFABCDEF.toInt()), img.toArgb())
    }
}
