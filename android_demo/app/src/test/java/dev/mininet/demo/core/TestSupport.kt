package dev.mininet.demo.core

import java.io.File
import java.security.MessageDigest
import javax.imageio.ImageIO

/** Helpers shared by the JVM tests (JVM-only APIs such as ImageIO are fine in tests). */
object TestSupport {
    fun sha256(bytes: ByteArray): String =
        MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }

    fun floatBytesLE(values: FloatArray): ByteArray {
        val buf = java.nio.ByteBuffer.allocate(values.size * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN)
        for (v in values) buf.putFloat(v)
        return buf.array()
    }

    /** Raw samples of an 8-bit PNG (no colour conversion): (width, height, channels, bytes). */
    fun readPng(file: File): Triple<Pair<Int, Int>, Int, ByteArray> = readPng(file.readBytes())

    fun readPng(bytes: ByteArray): Triple<Pair<Int, Int>, Int, ByteArray> {
        val img = ImageIO.read(bytes.inputStream()) ?: error("not a PNG")
        val raster = img.raster
        val bands = raster.numBands
        val samples = raster.getPixels(0, 0, img.width, img.height, null as IntArray?)
        return Triple(img.width to img.height, bands, ByteArray(samples.size) { samples[it].toByte() })
    }

    /** The golden folder: -Dgolden.dir, else test resources on the classpath (Gradle). */
    fun goldenDir(): File {
        System.getProperty("golden.dir")?.let { return File(it) }
        val url = TestSupport::class.java.getResource("/golden/manifest.json")
            ?: error("golden/manifest.json not on the test classpath; run android_demo/tools/make_goldens.py")
        return File(url.toURI()).parentFile
    }

    /** A card as the export writes it, with the fields the app reads. */
    fun cardJson(
        policy: String = "resize",
        size: Int = 8,
        outDtype: String = "uint8",
        scale: Double = 0.00390625,
        zero: Int = 0,
        threshold: Double = 0.5,
    ) = """
        {"format": "mininet_tf.tflite_card/1", "model_file": "m.tflite", "sha256": "abc", "mode": "int8",
         "input": {"shape": [1, $size, $size, 3], "dtype": "uint8", "quantization": {"scale": 1.0, "zero_point": 0}},
         "output": {"shape": [1, $size, $size, 1], "dtype": "$outDtype", "scale": ${if (outDtype == "float32") "null" else scale.toString()},
                    "zero_point": ${if (outDtype == "float32") "null" else zero.toString()}},
         "input_policy": {"mode": "$policy", "size": [$size, $size], "overlap": 32, "multiple": 8},
         "threshold": $threshold, "threshold_quantized": 128,
         "training_data": {"dataset": "ph2"}, "parameters": {"total": 37831}}
    """.trimIndent()
}
