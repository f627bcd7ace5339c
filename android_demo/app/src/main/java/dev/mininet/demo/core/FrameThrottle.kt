package dev.mininet.demo.core

/** What the live preview reports about its own speed. */
data class LiveStats(
    /** Processed frames per second over the recent window (0 until two frames finished). */
    val fps: Double,
    /** Mean start-to-finish time of the recent processed frames, ms (0 before the first). */
    val meanLatencyMs: Double,
    val processed: Long,
    /** Frames offered while another one was in flight or the model was busy elsewhere. */
    val droppedBusy: Long,
    /** Frames offered sooner than the minimum interval after the last processed one. */
    val droppedTooSoon: Long,
) {
    val dropped get() = droppedBusy + droppedTooSoon
}

/**
 * Decides which camera frames the live preview segments, and measures how it keeps up.
 *
 * CameraX's STRATEGY_KEEP_ONLY_LATEST already discards frames that arrive while the analyzer
 * runs; this class adds the two reasons CameraX cannot know about: the shared interpreter is busy
 * with a still analysis, and a frame-rate cap ([minIntervalMs], start to start) so that live
 * segmentation does not heat the phone or starve the still capture. Frames CameraX discarded
 * itself never reach [offer] and are not counted.
 *
 * Not thread-safe: one analyzer thread calls [offer] and [finish].
 */
class FrameThrottle(
    private val minIntervalMs: Double,
    private val clock: Clock = Clock.SYSTEM,
    private val window: Int = 10,
) {
    init {
        require(minIntervalMs >= 0 && minIntervalMs.isFinite()) { "min interval $minIntervalMs ms" }
        require(window >= 2) { "window must hold at least two frames" }
    }

    private var inFlightSince: Long? = null
    private var lastStart: Long? = null
    private val finishes = LongArray(window)
    private val latencies = LongArray(window)
    private var processed = 0L
    private var droppedBusy = 0L
    private var droppedTooSoon = 0L

    /** True: process this frame and call [finish] afterwards. False: drop it (counted). */
    fun offer(busyElsewhere: Boolean = false): Boolean {
        val now = clock.nanoTime()
        if (inFlightSince != null || busyElsewhere) {
            droppedBusy++
            return false
        }
        val last = lastStart
        if (last != null && now - last < minIntervalMs * 1e6) {
            droppedTooSoon++
            return false
        }
        lastStart = now
        inFlightSince = now
        return true
    }

    fun finish() {
        val start = checkNotNull(inFlightSince) { "finish() without an accepted offer()" }
        val now = clock.nanoTime()
        val slot = (processed % window).toInt()
        finishes[slot] = now
        latencies[slot] = now - start
        processed++
        inFlightSince = null
    }

    fun stats(): LiveStats {
        val n = minOf(processed, window.toLong()).toInt()
        var fps = 0.0
        var latency = 0.0
        if (n > 0) {
            val newest = finishes[((processed - 1) % window).toInt()]
            val oldest = finishes[((processed - n) % window).toInt()]
            if (n >= 2 && newest > oldest) fps = (n - 1) * 1e9 / (newest - oldest)
            var sum = 0L
            for (i in 0 until n) sum += latencies[i]
            latency = sum.toDouble() / n / 1e6
        }
        return LiveStats(fps, latency, processed, droppedBusy, droppedTooSoon)
    }

    companion object {
        /** Throttle for a target rate; 0 or less means no cap. */
        fun forTargetFps(fps: Double, clock: Clock = Clock.SYSTEM) =
            FrameThrottle(if (fps > 0) 1000.0 / fps else 0.0, clock)
    }
}
