package dev.mininet.demo.core

import org.junit.Assert.assertEquals
import org.junit.Test

class ExifOrientationTest {
    // Stored pixels (3 x 2), one letter per pixel encoded in the red channel:
    //   a b c
    //   d e f
    private val stored = image(3, "abcdef")

    private fun image(width: Int, letters: String) =
        RgbImage(width, letters.length / width, ByteArray(letters.length * 3) { if (it % 3 == 0) letters[it / 3].code.toByte() else 0 })

    private fun letters(img: RgbImage) =
        (0 until img.height).map { y -> (0 until img.width).joinToString("") { x -> img.r(x, y).toChar().toString() } }

    @Test
    fun allEightOrientationsGiveTheUprightImage() {
        // Upright images per EXIF definition (what a viewer displays for each tag value).
        val expected = mapOf(
            1 to listOf("abc", "def"),
            2 to listOf("cba", "fed"),
            3 to listOf("fed", "cba"),
            4 to listOf("def", "abc"),
            5 to listOf("ad", "be", "cf"),
            6 to listOf("da", "eb", "fc"),
            7 to listOf("fc", "eb", "da"),
            8 to listOf("cf", "be", "ad"),
        )
        for ((orientation, rows) in expected) {
            assertEquals("orientation $orientation", rows, letters(ExifOrientation.apply(stored, orientation)))
        }
        assertEquals(listOf("abc", "def"), letters(ExifOrientation.apply(stored, 0))) // unknown: as stored
    }

    @Test
    fun rotationsCompose() {
        val r90 = { i: RgbImage -> ExifOrientation.apply(i, ExifOrientation.ROTATE_90) }
        assertEquals(letters(ExifOrientation.apply(stored, 3)), letters(r90(r90(stored))))
        assertEquals(letters(ExifOrientation.apply(stored, 8)), letters(r90(r90(r90(stored)))))
        assertEquals(letters(stored), letters(r90(r90(r90(r90(stored))))))
    }

    @Test
    fun deviceOrientationToTargetRotation() {
        // CameraX: turning the phone clockwise by 90 degrees needs Surface.ROTATION_270.
        assertEquals(0, ExifOrientation.targetRotationForDeviceDegrees(10))
        assertEquals(0, ExifOrientation.targetRotationForDeviceDegrees(350))
        assertEquals(3, ExifOrientation.targetRotationForDeviceDegrees(90))
        assertEquals(2, ExifOrientation.targetRotationForDeviceDegrees(180))
        assertEquals(1, ExifOrientation.targetRotationForDeviceDegrees(270))
        assertEquals(null, ExifOrientation.targetRotationForDeviceDegrees(-1))
        assertEquals(listOf(0, 90, 180, 270), (0..3).map { ExifOrientation.surfaceRotationDegrees(it) })
    }
}
