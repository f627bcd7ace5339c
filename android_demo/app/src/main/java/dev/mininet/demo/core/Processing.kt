package dev.mininet.demo.core

/** Turns an upright photo into the model's input tensor (uint8 RGB, NHWC, batch 1). */
interface Preprocessor {
    fun preprocess(image: RgbImage): ByteArray
}

/** Turns the raw output tensor into a mask of the photo's size. */
interface Postprocessor {
    fun postprocess(raw: ByteArray, imageWidth: Int, imageHeight: Int, options: PostprocessOptions): Mask
}

/**
 * User-facing post-processing choices. The threshold defaults to the model card's (selected on
 * the validation split); the app lets the user see but not silently change it, and records it.
 */
data class PostprocessOptions(
    val threshold: Double,
    val largestComponent: Boolean = false,
    val fillHoles: Boolean = false,
)

/**
 * The card's "resize" input policy (`mininet_lite.tiling.predict_image`): the whole photo is
 * resized to the model input with Pillow's BILINEAR; nothing else (normalisation is inside
 * the graph, the input takes raw 0-255 pixels).
 */
class ResizePreprocessor(private val card: ModelCard) : Preprocessor {
    init {
        require(card.policyMode == "resize") {
            "input policy '${card.policyMode}' is not supported by the app (only 'resize': whole-image models)"
        }
    }

    override fun preprocess(image: RgbImage): ByteArray =
        PillowResample.resizeBytes(image.data, image.width, image.height, 3, card.inputWidth, card.inputHeight)
}

/**
 * Dequantise -> resize back to the photo (Pillow BILINEAR on float32) -> threshold ->
 * optional largest component -> optional hole filling.
 *
 * Thresholding the resized probabilities (not the 192x192 ones) is what the Python tools do,
 * so the app's mask equals `mininet_lite`'s for the same photo; it gives smooth borders at
 * full resolution.
 */
class ResizeBackPostprocessor(private val card: ModelCard) : Postprocessor {
    override fun postprocess(raw: ByteArray, imageWidth: Int, imageHeight: Int, options: PostprocessOptions): Mask {
        val small = dequantize(raw, card.output)
        val prob = PillowResample.resizeFloat(small, card.output.width, card.output.height, imageWidth, imageHeight)
        return finish(threshold(prob, imageWidth, imageHeight, options.threshold), options)
    }

    companion object {
        /**
         * `p = (q - zero_point) * scale` in float32, as numpy evaluates
         * `(y.astype(np.float32) - zero) * scale` (Python scalars adopt the array's float32).
         */
        fun dequantize(raw: ByteArray, spec: ModelCard.OutputSpec): FloatArray {
            val n = spec.width * spec.height
            require(raw.size == n * spec.bytesPerElement) { "output has ${raw.size} bytes, expected ${n * spec.bytesPerElement}" }
            return when (spec.dtype) {
                "uint8", "int8" -> {
                    val zero = spec.zeroPoint!!.toFloat()
                    val scale = spec.scale!!.toFloat()
                    val signed = spec.dtype == "int8"
                    FloatArray(n) { i ->
                        val q = if (signed) raw[i].toInt() else raw[i].toInt() and 0xFF
                        (q.toFloat() - zero) * scale
                    }
                }
                else -> {
                    val buf = java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
                    FloatArray(n) { buf.get(it) }
                }
            }
        }

        /** `prob >= threshold` with the threshold as float32 (numpy 2 compares in float32 too). */
        fun threshold(prob: FloatArray, width: Int, height: Int, threshold: Double): Mask {
            val t = threshold.toFloat()
            return Mask(width, height, ByteArray(prob.size) { if (prob[it] >= t) 1 else 0 })
        }

        /** Largest component first, then holes: the hole filling should see the kept lesion only. */
        fun finish(mask: Mask, options: PostprocessOptions): Mask {
            var out = mask
            if (options.largestComponent) out = MaskOps.largestComponent(out)
            if (options.fillHoles) out = MaskOps.fillHoles(out)
            return out
        }
    }
}

/** Largest side of the analysed image: bounds memory (a 12 MP photo as ARGB is 48 MB). */
object AnalysisSize {
    const val DEFAULT_MAX_SIDE = 2048

    /** Size with the longest side at most [maxSide], aspect kept (rounded), never upscaled. */
    fun fit(width: Int, height: Int, maxSide: Int = DEFAULT_MAX_SIDE): Pair<Int, Int> {
        val longest = maxOf(width, height)
        if (longest <= maxSide) return width to height
        val s = maxSide.toDouble() / longest
        return maxOf(1, Math.round(width * s).toInt()) to maxOf(1, Math.round(height * s).toInt())
    }

    /** The photo as analysed: Pillow-bilinear downscaled when larger than [maxSide]. */
    fun prepare(image: RgbImage, maxSide: Int = DEFAULT_MAX_SIDE): RgbImage {
        val (w, h) = fit(image.width, image.height, maxSide)
        return if (w == image.width && h == image.height) image else PillowResample.resize(image, w, h)
    }
}
