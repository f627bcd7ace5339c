package dev.mininet.demo.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

class FrameThrottleTest {
    private class FakeClock : Clock {
        var ms = 0L
        override fun nanoTime() = ms * 1_000_000
    }

    @Test
    fun capsTheRateDropsWhileBusyAndMeasuresFpsAndLatency() {
        val clock = FakeClock()
        val t = FrameThrottle(minIntervalMs = 100.0, clock = clock)
        assertTrue(t.offer()) // t = 0
        clock.ms = 30; t.finish()
        clock.ms = 50; assertFalse(t.offer()) // 50 ms after the last start: too soon
        clock.ms = 100; assertTrue(t.offer())
        clock.ms = 140; t.finish()
        clock.ms = 150; assertFalse(t.offer())
        clock.ms = 200; assertTrue(t.offer())
        clock.ms = 210; assertFalse(t.offer()) // the 200 ms frame is still in flight
        clock.ms = 250; t.finish()
        val s = t.stats()
        assertEquals(3L, s.processed)
        assertEquals(1L, s.droppedBusy)
        assertEquals(2L, s.droppedTooSoon)
        assertEquals(3L, s.dropped)
        // Two intervals between the finishes at 30 and 250 ms: 2 / 0.22 s.
        assertEquals(2 / 0.22, s.fps, 1e-9)
        assertEquals((30 + 40 + 50) / 3.0, s.meanLatencyMs, 1e-9)
    }

    @Test
    fun dropsWhileTheModelIsBusyElsewhereWithoutStartingTheInterval() {
        val clock = FakeClock()
        val t = FrameThrottle(minIntervalMs = 100.0, clock = clock)
        assertFalse(t.offer(busyElsewhere = true))
        clock.ms = 1
        assertTrue(t.offer()) // the busy drop did not count as a start
        assertEquals(1L, t.stats().droppedBusy)
    }

    @Test
    fun averagesOnlyTheRecentWindow() {
        val clock = FakeClock()
        val t = FrameThrottle(minIntervalMs = 0.0, clock = clock, window = 3)
        for (latency in longArrayOf(10, 10, 10, 100, 100, 100)) {
            assertTrue(t.offer())
            clock.ms += latency
            t.finish()
        }
        val s = t.stats()
        assertEquals(100.0, s.meanLatencyMs, 1e-9)
        // Finishes at 230, 330, 430 ms: two frames per 0.2 s.
        assertEquals(10.0, s.fps, 1e-9)
        assertEquals(6L, s.processed)
    }

    @Test
    fun emptyStatsAndMisuse() {
        val t = FrameThrottle.forTargetFps(0.0, FakeClock())
        assertEquals(LiveStats(0.0, 0.0, 0, 0, 0), t.stats())
        assertThrows(IllegalStateException::class.java) { t.finish() }
        assertTrue(t.offer())
        t.finish()
        assertTrue(t.offer()) // no cap: the same instant is fine
        assertEquals(0.0, t.stats().fps, 0.0) // one finish only: no rate yet
        assertThrows(IllegalArgumentException::class.java) { FrameThrottle(-1.0) }
    }

    @Test
    fun targetFpsSetsTheInterval() {
        val clock = FakeClock()
        val t = FrameThrottle.forTargetFps(8.0, clock)
        assertTrue(t.offer()); t.finish()
        clock.ms = 124; assertFalse(t.offer())
        clock.ms = 125; assertTrue(t.offer())
    }
}
