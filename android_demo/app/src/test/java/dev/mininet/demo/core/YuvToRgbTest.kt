package dev.mininet.demo.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Test
import kotlin.random.Random

class YuvToRgbTest {
    /** Logical planes: Y w x h, U and V ceil(w/2) x ceil(h/2), tightly packed. */
    class Planes(val w: Int, val h: Int, val y: IntArray, val u: IntArray, val v: IntArray) {
        val cw = (w + 1) / 2
        val ch = (h + 1) / 2
    }

    enum class Layout { I420, I420_PADDED, NV21_PADDED, NV12 }

    /**
     * Lays the planes out as a camera HAL would: row padding filled with junk (0x5A) so a read
     * from the padding shows up, buffers cut right after the last sample, and for NV21/NV12 the
     * U and V planes as two offset views of one interleaved array.
     */
    fun frame(p: Planes, layout: Layout, rotation: Int = 0): YuvFrame {
        val junk = 0x5A.toByte()
        fun planar(values: IntArray, w: Int, h: Int, stride: Int): YuvPlane {
            val data = ByteArray((h - 1) * stride + w) { junk }
            for (r in 0 until h) for (c in 0 until w) data[r * stride + c] = values[r * w + c].toByte()
            return YuvPlane(data, stride, 1)
        }
        val pad = if (layout == Layout.I420) 0 else 5
        val y = planar(p.y, p.w, p.h, p.w + pad)
        if (layout == Layout.I420 || layout == Layout.I420_PADDED) {
            return YuvFrame(p.w, p.h, y, planar(p.u, p.cw, p.ch, p.cw + pad), planar(p.v, p.cw, p.ch, p.cw + pad), rotation)
        }
        val stride = 2 * p.cw + pad
        val both = ByteArray((p.ch - 1) * stride + 2 * p.cw) { junk }
        val vFirst = layout == Layout.NV21_PADDED
        for (r in 0 until p.ch) for (c in 0 until p.cw) {
            val o = r * stride + 2 * c
            both[o + (if (vFirst) 0 else 1)] = p.v[r * p.cw + c].toByte()
            both[o + (if (vFirst) 1 else 0)] = p.u[r * p.cw + c].toByte()
        }
        val first = both.copyOfRange(0, both.size - 1)
        val second = both.copyOfRange(1, both.size)
        val (u, v) = if (vFirst) second to first else first to second
        return YuvFrame(p.w, p.h, y, YuvPlane(u, stride, 2), YuvPlane(v, stride, 2), rotation)
    }

    private fun ints(path: JsonPath) = path.list().map { it.int() }.toIntArray()

    @Test
    fun matchesIndependentNumpyVectorsForEveryLayoutRangeAndRotation() {
        val text = YuvToRgbTest::class.java.getResource("/yuv/vectors.json")?.readText()
            ?: error("yuv/vectors.json not on the test classpath; run android_demo/tools/make_yuv_vectors.py")
        val doc = JsonPath(Json.parse(text))
        var checked = 0
        for (c in doc["cases"].list()) {
            val p = Planes(c["width"].int(), c["height"].int(), ints(c["y"]), ints(c["u"]), ints(c["v"]))
            for (range in YuvRange.entries) for (rotation in YuvFrame.ROTATIONS) {
                val e = c["expected"]["${range.name}_$rotation"]
                val expected = ints(e["rgb"]).map { it.toByte() }.toByteArray()
                for (layout in Layout.entries) {
                    val rgb = YuvToRgb.convert(frame(p, layout, rotation), range)
                    val where = "${c["name"].string()} $range $rotation deg $layout"
                    assertEquals(where, e["width"].int(), rgb.width)
                    assertEquals(where, e["height"].int(), rgb.height)
                    assertArrayEquals(where, expected, rgb.data)
                    checked++
                }
            }
        }
        assertEquals(2 * 2 * 4 * 4, checked)
    }

    private fun single(y: Int, u: Int, v: Int) = Planes(1, 1, intArrayOf(y), intArrayOf(u), intArrayOf(v))

    private fun rgbOf(p: Planes, range: YuvRange) =
        YuvToRgb.convert(frame(p, Layout.I420), range).let { listOf(it.r(0, 0), it.g(0, 0), it.b(0, 0)) }

    @Test
    fun handComputedPixels() {
        // Full range: R = 81 + 1.402 * 112 = 238.02, G = 81 + 0.344136 * 38 - 0.714136 * 112 = 14.09,
        // B = 81 - 1.772 * 38 = 13.66.
        assertEquals(listOf(238, 14, 14), rgbOf(single(81, 90, 240), YuvRange.FULL))
        assertEquals(listOf(100, 100, 100), rgbOf(single(100, 128, 128), YuvRange.FULL))
        // Limited range: (100 - 16) * 255 / 219 = 97.81; black and white points at 16 and 235.
        assertEquals(listOf(98, 98, 98), rgbOf(single(100, 128, 128), YuvRange.LIMITED))
        assertEquals(listOf(0, 0, 0), rgbOf(single(16, 128, 128), YuvRange.LIMITED))
        assertEquals(listOf(255, 255, 255), rgbOf(single(235, 128, 128), YuvRange.LIMITED))
        // Out-of-gamut codes clamp: R = 255 + 1.402 * 127 = 433 -> 255; G = 255 - 0.714136 * 127 = 164.3.
        assertEquals(listOf(255, 164, 255), rgbOf(single(255, 128, 255), YuvRange.FULL))
    }

    @Test
    fun rotationEqualsExifRotationOfTheSensorImage() {
        val rnd = Random(3)
        val w = 13
        val h = 9
        val p = Planes(w, h, IntArray(w * h) { rnd.nextInt(256) }, IntArray(7 * 5) { rnd.nextInt(256) }, IntArray(7 * 5) { rnd.nextInt(256) })
        val sensor = YuvToRgb.convert(frame(p, Layout.NV21_PADDED, 0))
        val exif = mapOf(90 to ExifOrientation.ROTATE_90, 180 to ExifOrientation.ROTATE_180, 270 to ExifOrientation.ROTATE_270)
        for ((degrees, orientation) in exif) {
            val rotated = YuvToRgb.convert(frame(p, Layout.NV21_PADDED, degrees))
            val reference = ExifOrientation.apply(sensor, orientation)
            assertEquals(reference.width, rotated.width)
            assertArrayEquals("$degrees deg", reference.data, rotated.data)
        }
    }

    @Test
    fun ninetyDegreesPutsTheSensorTopLeftAtTheUprightTopRight() {
        // A phone held upright sees the sensor's top-left corner at its top-right (CameraX docs:
        // rotationDegrees is the clockwise turn that makes the frame upright).
        val w = 4
        val h = 2
        val y = IntArray(w * h) { 0 }.also { it[0] = 255 }
        val frame = frame(Planes(w, h, y, IntArray(4) { 128 }, IntArray(4) { 128 }), Layout.I420, 90)
        val rgb = YuvToRgb.convert(frame)
        assertEquals(2, rgb.width)
        assertEquals(4, rgb.height)
        assertEquals(255, rgb.g(1, 0))
        assertEquals(0, rgb.g(0, 0))
    }

    @Test
    fun rejectsBuffersTooShortForTheirStrides() {
        val p = single(1, 2, 3)
        val ok = frame(Planes(4, 4, IntArray(16), IntArray(4), IntArray(4)), Layout.I420)
        assertThrows(IllegalArgumentException::class.java) {
            YuvFrame(4, 4, YuvPlane(ByteArray(15), 4, 1), ok.u, ok.v, 0)
        }
        assertThrows(IllegalArgumentException::class.java) {
            // 2x2 chroma, rowStride 4, pixelStride 2: the last sample is at 1 * 4 + 1 * 2 = 6.
            YuvFrame(4, 4, ok.y, YuvPlane(ByteArray(6), 4, 2), ok.v, 0)
        }
        assertThrows(IllegalArgumentException::class.java) { frame(p, Layout.I420, 45) }
    }
}
