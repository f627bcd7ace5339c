package dev.mininet.demo.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Test

class FramingAdvisorTest {
    private val size = 100

    /** Disc of radius [r] around (cx, cy), in a 100x100 mask (1 % of the frame = 100 px). */
    private fun disc(cx: Double, cy: Double, r: Double, into: Mask = Mask(size, size)): Mask {
        for (y in 0 until size) for (x in 0 until size) {
            if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) into[x, y] = true
        }
        return into
    }

    private fun rect(x0: Int, y0: Int, x1: Int, y1: Int, into: Mask = Mask(size, size)): Mask {
        for (y in y0..y1) for (x in x0..x1) into[x, y] = true
        return into
    }

    private fun cue(mask: Mask) = FramingAdvisor().update(mask).cue

    @Test
    fun noLesionWhenEmptyOrBelowTheMinimumShare() {
        assertEquals(FramingCue.NO_LESION, cue(Mask(size, size)))
        val speck = rect(50, 50, 58, 58) // 81 px = 0.81 %
        val state = FramingAdvisor().update(speck)
        assertEquals(FramingCue.NO_LESION, state.cue)
        assertNull(state.lesion)
        assertEquals(FramingCue.MOVE_CLOSER, cue(rect(45, 45, 54, 54))) // 100 px = 1 %: a lesion
    }

    @Test
    fun sizeCues() {
        // r 10: ~3 % of the frame, centred.
        assertEquals(FramingCue.MOVE_CLOSER, cue(disc(49.5, 49.5, 10.0)))
        // r 48: ~72 %, centred, 1.5 px clear of the border.
        val big = FramingAdvisor().update(disc(49.5, 49.5, 48.0))
        assertEquals(0, big.borderPixels)
        assertEquals(FramingCue.MOVE_BACK, big.cue)
    }

    @Test
    fun aCentredLesionCutOffByTheBorderMeansMoveBack() {
        // A band across the whole width: 30 % share, centred, but cut off left and right.
        val state = FramingAdvisor().update(rect(0, 35, 99, 64))
        assertEquals(60, state.borderPixels)
        assertEquals(0.30, state.share, 1e-12)
        assertEquals(FramingCue.MOVE_BACK, state.cue)
    }

    @Test
    fun offCentreLesionsAskToRecentreEvenWhenSmallOrCutOff() {
        // Centroid 18.5 % of the width right of centre, inside the frame.
        val inside = FramingAdvisor().update(disc(68.0, 49.5, 30.0))
        assertEquals(0, inside.borderPixels)
        assertEquals(0.185, inside.offsetX!!, 1e-9)
        assertEquals(FramingCue.RECENTRE, inside.cue)
        // Cut off at the right edge and off-centre: re-centre rather than move back.
        assertEquals(FramingCue.RECENTRE, cue(disc(85.0, 49.5, 30.0)))
        // Small *and* off-centre: re-centre first (moving closer could push it out of the frame).
        assertEquals(FramingCue.RECENTRE, cue(disc(75.0, 75.0, 10.0)))
        // Just inside the tolerance (0.14 < 0.15) counts as centred.
        assertEquals(FramingCue.HOLD_STEADY, cue(disc(63.5, 49.5, 25.0)))
    }

    @Test
    fun steadinessNeedsThreeOverlappingFramesAndResets() {
        val advisor = FramingAdvisor()
        val lesion = disc(49.5, 49.5, 25.0)
        val first = advisor.update(lesion)
        assertEquals(FramingCue.HOLD_STEADY, first.cue)
        assertNull(first.iouWithPrevious)
        assertEquals(FramingCue.HOLD_STEADY, advisor.update(lesion).cue)
        val third = advisor.update(lesion)
        assertEquals(FramingCue.READY, third.cue)
        assertEquals(1.0, third.iouWithPrevious!!, 0.0)
        assertEquals(3, third.steadyCount)
        // A 10 px jump: IoU ~0.6 < 0.85, steadiness starts again.
        val moved = advisor.update(disc(59.5, 49.5, 25.0))
        assertEquals(FramingCue.HOLD_STEADY, moved.cue)
        assertEquals(1, moved.steadyCount)
        // A 1 px jitter keeps it (IoU ~0.95).
        assertEquals(2, advisor.update(disc(58.5, 49.5, 25.0)).steadyCount)
        // Losing the lesion forgets the history.
        assertEquals(FramingCue.NO_LESION, advisor.update(Mask(size, size)).cue)
        assertEquals(1, advisor.update(lesion).steadyCount)
    }

    @Test
    fun onlyTheLargestComponentIsJudged() {
        val advisor = FramingAdvisor()
        // A centred lesion plus a hair fragment in the corner (on the border, 9 px).
        val mask = rect(0, 0, 2, 2, disc(49.5, 49.5, 25.0))
        lateinit var state: FramingState
        repeat(3) { state = advisor.update(mask) }
        assertEquals(0, state.borderPixels)
        assertEquals(FramingCue.READY, state.cue)
        assertEquals(state.lesion!!.count().toDouble() / (size * size), state.share, 0.0)
    }

    @Test
    fun borderRingCountAndIou() {
        val m = Mask(4, 3)
        m[0, 0] = true; m[3, 2] = true; m[1, 1] = true; m[3, 1] = true
        assertEquals(3, FramingAdvisor.borderCount(m))
        val a = rect(0, 0, 1, 1, Mask(4, 2))
        val b = rect(1, 0, 2, 1, Mask(4, 2))
        assertEquals(2.0 / 6.0, MaskOps.iou(a, b), 1e-12)
        assertEquals(1.0, MaskOps.iou(Mask(4, 2), Mask(4, 2)), 0.0)
    }
}
