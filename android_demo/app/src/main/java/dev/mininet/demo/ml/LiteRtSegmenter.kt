package dev.mininet.demo.ml

import android.content.Context
import dev.mininet.demo.BuildConfig
import dev.mininet.demo.core.AcceleratorFallback
import dev.mininet.demo.core.ModelCard
import dev.mininet.demo.core.SegmentationModel
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.gpu.CompatibilityList
import org.tensorflow.lite.gpu.GpuDelegate
import java.io.FileInputStream
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.MappedByteBuffer
import java.nio.channels.FileChannel
import java.security.MessageDigest

/**
 * LiteRT adapter: the only class that touches the interpreter. It moves bytes in and out;
 * everything before and after (resize, dequantise, threshold...) is in the tested core.
 */
class LiteRtSegmenter private constructor(
    override val card: ModelCard,
    private val interpreter: Interpreter,
    private val gpuDelegate: GpuDelegate?,
    override val accelerator: String,
) : SegmentationModel {
    private val inputBuffer = ByteBuffer.allocateDirect(card.inputHeight * card.inputWidth * 3).order(ByteOrder.nativeOrder())
    private val outputBuffer = ByteBuffer.allocateDirect(card.output.height * card.output.width * card.output.bytesPerElement)
        .order(ByteOrder.LITTLE_ENDIAN)

    init {
        // The card must describe this very file: fail loudly rather than mis-read tensors.
        val input = interpreter.getInputTensor(0)
        val output = interpreter.getOutputTensor(0)
        check(input.dataType() == DataType.UINT8) { "model input is ${input.dataType()}, card says uint8" }
        check(input.shape().contentEquals(intArrayOf(1, card.inputHeight, card.inputWidth, 3))) {
            "model input shape ${input.shape().contentToString()} differs from the card"
        }
        val expected = when (card.output.dtype) {
            "uint8" -> DataType.UINT8
            "int8" -> DataType.INT8
            else -> DataType.FLOAT32
        }
        check(output.dataType() == expected) { "model output is ${output.dataType()}, card says ${card.output.dtype}" }
    }

    @Synchronized
    override fun run(input: ByteArray): ByteArray {
        inputBuffer.rewind()
        inputBuffer.put(input)
        inputBuffer.rewind()
        outputBuffer.rewind()
        interpreter.run(inputBuffer, outputBuffer)
        outputBuffer.rewind()
        return ByteArray(outputBuffer.capacity()).also { outputBuffer.get(it) }
    }

    // Synchronized with run(): a live-preview frame may still be in inference when the model is
    // reloaded; closing waits for it instead of freeing the interpreter under it.
    @Synchronized
    override fun close() {
        interpreter.close()
        gpuDelegate?.close()
    }

    companion object {
        // Chosen at build time (app/build.gradle.kts, -PmininetModel): ISIC-2017 int8 by default.
        val MODEL_ASSET: String = BuildConfig.MODEL_ASSET
        val CARD_ASSET: String = BuildConfig.CARD_ASSET

        fun readCard(context: Context): ModelCard =
            ModelCard.parse(context.assets.open(CARD_ASSET).bufferedReader().use { it.readText() })

        /** Opens the model on the GPU if asked and possible, else on the CPU (reason kept). */
        fun open(context: Context, preferGpu: Boolean): AcceleratorFallback.Choice<LiteRtSegmenter> {
            val card = readCard(context)
            val model = mapAsset(context, MODEL_ASSET)
            verifySha256(model, card)
            return AcceleratorFallback.open(
                preferGpu,
                gpu = { create(card, model, useGpu = true) },
                cpu = { create(card, model, useGpu = false) },
            )
        }

        private fun create(card: ModelCard, model: MappedByteBuffer, useGpu: Boolean): LiteRtSegmenter {
            val options = Interpreter.Options()
            val delegate: GpuDelegate? = if (useGpu) {
                val compatibility = CompatibilityList()
                try {
                    check(compatibility.isDelegateSupportedOnThisDevice) { "GPU delegate not supported on this device" }
                    GpuDelegate(compatibility.bestOptionsForThisDevice)
                } finally {
                    compatibility.close()
                }
            } else {
                null
            }
            if (delegate != null) {
                options.addDelegate(delegate)
            } else {
                options.setNumThreads(maxOf(1, minOf(4, Runtime.getRuntime().availableProcessors())))
            }
            val interpreter = try {
                Interpreter(model, options)
            } catch (e: Exception) {
                delegate?.close()
                throw e
            }
            return LiteRtSegmenter(card, interpreter, delegate, if (useGpu) "GPU" else "CPU")
        }

        private fun mapAsset(context: Context, name: String): MappedByteBuffer =
            context.assets.openFd(name).use { fd ->
                FileInputStream(fd.fileDescriptor).channel.use { channel ->
                    channel.map(FileChannel.MapMode.READ_ONLY, fd.startOffset, fd.declaredLength)
                }
            }

        private fun verifySha256(model: MappedByteBuffer, card: ModelCard) {
            val expected = card.sha256 ?: return
            val digest = MessageDigest.getInstance("SHA-256")
            digest.update(model.duplicate())
            val actual = digest.digest().joinToString("") { "%02x".format(it) }
            check(actual == expected) {
                "model asset sha256 $actual does not match its card ($expected): re-run the copyModelAssets task"
            }
        }
    }
}
