package dev.mininet.demo.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotSame
import org.junit.Test

/** Hand-checkable cases; the exhaustive comparison with Pillow is in GoldenTest. */
class PillowResampleTest {
    private fun gray(vararg v: Int) = ByteArray(v.size) { v[it].toByte() }
    private fun ints(b: ByteArray) = b.map { it.toInt() and 0xFF }

    @Test
    fun upscalesLikePillow() {
        // Values from PIL.Image.resize(BILINEAR) on 1-row images.
        assertEquals(listOf(0, 64, 191, 255), ints(PillowResample.resizeBytes(gray(0, 255), 2, 1, 1, 4, 1)))
        assertEquals(listOf(0, 14, 57, 100, 143, 186, 200), ints(PillowResample.resizeBytes(gray(0, 100, 200), 3, 1, 1, 7, 1)))
    }

    @Test
    fun downscaleAveragesOverTheWiderTriangle() {
        // Support grows with the factor: the first output sees three inputs (weights 3:3:1).
        assertEquals(listOf(146, 255), ints(PillowResample.resizeBytes(gray(0, 255, 255, 255), 4, 1, 1, 2, 1)))
    }

    @Test
    fun coefficientsSumToOne() {
        for ((inSize, outSize) in listOf(4000 to 192, 192 to 3000, 7 to 5, 5 to 7, 1 to 9)) {
            val c = PillowResample.coefficients(inSize, outSize)
            for (xx in 0 until outSize) {
                var s = 0.0
                for (x in 0 until c.count[xx]) s += c.weights[xx * c.ksize + x]
                assertEquals(1.0, s, 1e-12)
                assertEquals(true, c.xmin[xx] >= 0 && c.xmin[xx] + c.count[xx] <= inSize)
            }
        }
    }

    @Test
    fun sameSizeIsACopy() {
        val img = RgbImage(3, 2, ByteArray(18) { (it * 13).toByte() })
        val out = PillowResample.resize(img, 3, 2)
        assertArrayEquals(img.data, out.data)
        assertNotSame(img.data, out.data)
    }

    @Test
    fun constantImagesStayConstant() {
        val img = RgbImage(37, 23, ByteArray(37 * 23 * 3) { if (it % 3 == 0) 200.toByte() else if (it % 3 == 1) 7 else 255.toByte() })
        for ((w, h) in listOf(192 to 192, 5 to 3, 100 to 11)) {
            val out = PillowResample.resize(img, w, h)
            for (i in 0 until w * h) {
                assertEquals(listOf(200, 7, 255), listOf(out.r(i % w, i / w), out.g(i % w, i / w), out.b(i % w, i / w)))
            }
        }
        val f = PillowResample.resizeFloat(FloatArray(12) { 0.25f }, 4, 3, 9, 2)
        for (v in f) assertEquals(0.25f, v, 0f)
    }
}
