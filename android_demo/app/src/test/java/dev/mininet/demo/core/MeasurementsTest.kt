package dev.mininet.demo.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Test

class MeasurementsTest {
    private fun rect(w: Int, h: Int, x0: Int, y0: Int, rw: Int, rh: Int): Mask {
        val m = Mask(w, h)
        for (y in y0 until y0 + rh) for (x in x0 until x0 + rw) m[x, y] = true
        return m
    }

    @Test
    fun rectangleInPixels() {
        val m = Measurements.of(rect(20, 10, 3, 2, 10, 4))
        assertEquals(40, m.areaPx)
        assertEquals(0.2, m.areaFraction, 0.0)
        assertEquals(20.0, m.areaPercent, 1e-12)
        assertEquals(BoundingBox(3, 2, 10, 4), m.boundingBox)
        assertEquals(Math.sqrt(160.0 / Math.PI), m.equivalentDiameterPx, 0.0)
        assertEquals(7.5, m.centroidX!!, 0.0)
        assertEquals(3.5, m.centroidY!!, 0.0)
        assertNull(m.areaMm2)
    }

    @Test
    fun millimetresFromFieldOfViewAcrossTheShorterSide() {
        // 10 px shorter side spans 5 mm: 0.5 mm per pixel.
        val m = Measurements.of(rect(20, 10, 0, 0, 4, 4), Scale.FieldOfView(5.0))
        assertEquals(0.5, m.mmPerPixel!!, 0.0)
        assertEquals(4.0, m.areaMm2!!, 1e-12)
        assertEquals(2.0 * Math.sqrt(16.0 / Math.PI) * 0.5, m.equivalentDiameterMm!!, 1e-12)
        assertEquals(2.0 to 2.0, m.boundingBoxMm)
    }

    @Test
    fun millimetresFromPixelsPerMm() {
        val m = Measurements.of(rect(8, 8, 0, 0, 8, 8), Scale.PixelsPerMm(4.0))
        assertEquals(4.0, m.areaMm2!!, 1e-12)
    }

    @Test
    fun emptyMaskHasNoBoxOrCentroid() {
        val m = Measurements.of(Mask(5, 5))
        assertEquals(0, m.areaPx)
        assertNull(m.boundingBox)
        assertNull(m.centroidX)
        assertEquals(0.0, m.equivalentDiameterPx, 0.0)
    }

    @Test(expected = IllegalArgumentException::class)
    fun scaleMustBePositive() {
        Scale.FieldOfView(0.0)
    }
}
