package dev.mininet.demo.core

/**
 * The parts of the exported model card (`mininet_ph2_int8.json`, written by
 * `mininet_tf.export.build_card`) that the app relies on.
 *
 * The card is the contract between the Python export and the app: input tensor shape and dtype,
 * how to read the output (dtype, scale, zero point), the input policy (only "resize" is
 * supported: dermoscopy models see the whole photo) and the decision threshold chosen on the
 * validation split. Nothing here is hard-coded in the app, so a re-exported model with a
 * different size or threshold works without a code change.
 */
data class ModelCard(
    val format: String,
    val modelFile: String,
    val sha256: String?,
    val mode: String?,
    val inputHeight: Int,
    val inputWidth: Int,
    val inputChannels: Int,
    val output: OutputSpec,
    val policyMode: String,
    val threshold: Double,
    val thresholdQuantized: Int?,
    val dataset: String?,
    val parameters: Int?,
) {
    /** How to turn the raw output tensor into probabilities. */
    data class OutputSpec(val dtype: String, val scale: Double?, val zeroPoint: Int?, val height: Int, val width: Int) {
        val bytesPerElement get() = if (dtype == "float32") 4 else 1
    }

    /** Short description for the UI and the saved JSON. */
    val versionLabel: String get() = "$modelFile (${sha256?.take(12) ?: "no sha256"})"

    companion object {
        const val SUPPORTED_FORMAT_PREFIX = "mininet_tf.tflite_card/"

        fun parse(text: String): ModelCard {
            val root = JsonPath(Json.parse(text))
            val format = root["format"].string()
            require(format.startsWith(SUPPORTED_FORMAT_PREFIX)) { "unsupported model card format '$format'" }
            val input = root["input"]
            val shape = input["shape"].list().map { it.int() }
            require(shape.size == 4 && shape[0] == 1 && shape[3] == 3) { "input shape $shape: expected [1, H, W, 3]" }
            require(input["dtype"].string() == "uint8") { "input dtype must be uint8 (raw RGB pixels)" }
            if (input.has("quantization") && !input["quantization"]["scale"].isNull) {
                // The app feeds raw pixels unchanged; that is only right for scale 1, zero point 0.
                val s = input["quantization"]["scale"].double()
                val z = input["quantization"]["zero_point"].int()
                require(s == 1.0 && z == 0) { "input quantisation scale $s zero point $z: expected 1, 0" }
            }
            val out = root["output"]
            val dtype = out["dtype"].string()
            require(dtype in setOf("uint8", "int8", "float32")) { "output dtype '$dtype' is not supported" }
            val quantized = dtype != "float32"
            val outShape = out["shape"].list().map { it.int() }
            require(outShape.size == 4 && outShape[3] == 1) { "output shape $outShape: expected [1, H, W, 1]" }
            val scale = if (quantized) out["scale"].double() else null
            val zero = if (quantized) out["zero_point"].int() else null
            if (quantized) require(scale!! > 0.0) { "output scale must be positive" }
            val policy = root["input_policy"]
            val mode = policy["mode"].string()
            val size = policy["size"].list().map { it.int() }
            require(size == listOf(shape[1], shape[2])) { "input_policy.size $size differs from the input shape $shape" }
            val threshold = root["threshold"].double()
            require(threshold > 0.0 && threshold < 1.0) { "threshold $threshold outside (0, 1)" }
            return ModelCard(
                format = format,
                modelFile = root["model_file"].string(),
                sha256 = if (root.has("sha256")) root["sha256"].stringOrNull() else null,
                mode = if (root.has("mode")) root["mode"].stringOrNull() else null,
                inputHeight = shape[1],
                inputWidth = shape[2],
                inputChannels = shape[3],
                output = OutputSpec(dtype, scale, zero, outShape[1], outShape[2]),
                policyMode = mode,
                threshold = threshold,
                thresholdQuantized = if (root.has("threshold_quantized")) root["threshold_quantized"].intOrNull() else null,
                dataset = if (root.has("training_data")) root["training_data"]["dataset"].stringOrNull() else null,
                parameters = if (root.has("parameters")) root["parameters"]["total"].intOrNull() else null,
            )
        }
    }
}
