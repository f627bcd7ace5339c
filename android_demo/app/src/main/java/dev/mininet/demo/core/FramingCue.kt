package dev.mininet.demo.core

/** The one instruction the live preview shows while the user frames the lesion. */
enum class FramingCue { NO_LESION, MOVE_BACK, RECENTRE, MOVE_CLOSER, HOLD_STEADY, READY }

/**
 * Thresholds of the framing cue, on the mask at model input size (the whole frame, so shares
 * and normalised offsets do not depend on the analysis resolution).
 */
data class FramingRules(
    /** Largest lesion component below this share of the frame: treated as noise, no lesion. */
    val minLesionShare: Double = 0.01,
    /** Below this share the lesion is too small in the frame to segment well: move closer. */
    val moveCloserBelow: Double = 0.10,
    /** Above this share little normal skin is left around the lesion: move back. */
    val moveBackAbove: Double = 0.60,
    /** This many lesion pixels on the outermost ring of the frame: the lesion is cut off. */
    val borderPixels: Int = 1,
    /** Centroid offset from the frame centre, in frame widths/heights (Euclidean). */
    val centreTolerance: Double = 0.15,
    /** Consecutive masks must overlap at least this much (IoU) to count as steady. */
    val steadyIou: Double = 0.85,
    /** ...over this many consecutive processed frames (including the current one). */
    val steadyFrames: Int = 3,
) {
    init {
        require(minLesionShare in 0.0..moveCloserBelow && moveCloserBelow < moveBackAbove && moveBackAbove <= 1.0) {
            "need 0 <= minLesionShare <= moveCloserBelow < moveBackAbove <= 1"
        }
        require(borderPixels >= 1 && centreTolerance > 0 && steadyIou in 0.0..1.0 && steadyFrames >= 1)
    }
}

/** Everything the cue was derived from, for display and tests. */
data class FramingState(
    val cue: FramingCue,
    /** The largest component, or null when no lesion was found. */
    val lesion: Mask?,
    val share: Double,
    val borderPixels: Int,
    /** Centroid offset from the centre in frame units (x / width, y / height); null without a lesion. */
    val offsetX: Double?,
    val offsetY: Double?,
    /** IoU with the previous frame's lesion; null on the first frame with a lesion. */
    val iouWithPrevious: Double?,
    /** Consecutive frames (this one included) whose lesion overlapped the previous one enough. */
    val steadyCount: Int,
)

/**
 * Turns each live mask into a [FramingCue], remembering the previous frame for steadiness.
 *
 * Order of the checks, first match wins, chosen so that following one cue never triggers an
 * earlier one: nothing to frame -> cut off or too large (move back; but a cut-off lesion whose
 * centroid is off-centre is more likely outside the frame than too big, so re-centre) ->
 * off-centre (re-centre before moving closer, or the lesion may leave the frame) -> too small
 * (move closer) -> not yet steady (hold steady) -> ready.
 *
 * Only the largest 8-connected component is judged, as on the result screen's
 * "largest component only" option: hair and freckles segmented elsewhere do not move the cue.
 */
class FramingAdvisor(val rules: FramingRules = FramingRules()) {
    private var previous: Mask? = null
    private var steadyCount = 0

    fun reset() {
        previous = null
        steadyCount = 0
    }

    fun update(mask: Mask): FramingState {
        val lesion = MaskOps.largestComponent(mask)
        val m = Measurements.of(lesion)
        if (m.areaPx == 0 || m.areaFraction < rules.minLesionShare) {
            reset()
            return FramingState(FramingCue.NO_LESION, null, m.areaFraction, 0, null, null, null, 0)
        }
        val border = borderCount(lesion)
        // Pixel centres: the frame centre is at (w - 1) / 2, the same convention as the centroid.
        val dx = (m.centroidX!! - (mask.width - 1) / 2.0) / mask.width
        val dy = (m.centroidY!! - (mask.height - 1) / 2.0) / mask.height
        val offCentre = Math.hypot(dx, dy) > rules.centreTolerance
        val iou = previous?.let { MaskOps.iou(it, lesion) }
        steadyCount = if (iou != null && iou >= rules.steadyIou) steadyCount + 1 else 1
        previous = lesion
        val cue = when {
            border >= rules.borderPixels -> if (offCentre) FramingCue.RECENTRE else FramingCue.MOVE_BACK
            m.areaFraction > rules.moveBackAbove -> FramingCue.MOVE_BACK
            offCentre -> FramingCue.RECENTRE
            m.areaFraction < rules.moveCloserBelow -> FramingCue.MOVE_CLOSER
            steadyCount < rules.steadyFrames -> FramingCue.HOLD_STEADY
            else -> FramingCue.READY
        }
        return FramingState(cue, lesion, m.areaFraction, border, dx, dy, iou, steadyCount)
    }

    companion object {
        /** Lesion pixels on the one-pixel outer ring of the mask. */
        fun borderCount(mask: Mask): Int {
            val w = mask.width
            val h = mask.height
            var n = 0
            for (x in 0 until w) {
                if (mask[x, 0]) n++
                if (h > 1 && mask[x, h - 1]) n++
            }
            for (y in 1 until h - 1) {
                if (mask[0, y]) n++
                if (w > 1 && mask[w - 1, y]) n++
            }
            return n
        }
    }
}
