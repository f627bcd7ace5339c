package dev.mininet.demo.core

import java.io.ByteArrayOutputStream
import java.io.DataOutputStream
import java.util.zip.CRC32
import java.util.zip.Deflater

/**
 * A small PNG encoder (8-bit grayscale or RGB, no ancillary chunks).
 *
 * Why not Bitmap.compress: the saved mask must hold exactly 0/255 in one channel (what the
 * Python tools read), and writing it here keeps the save path unit-testable off-device. Only
 * java.util.zip is used, which Android provides.
 */
object PngWriter {
    private val SIGNATURE = byteArrayOf(0x89.toByte(), 'P'.code.toByte(), 'N'.code.toByte(), 'G'.code.toByte(), 13, 10, 26, 10)

    fun gray(width: Int, height: Int, pixels: ByteArray): ByteArray = encode(width, height, 1, pixels)

    fun rgb(image: RgbImage): ByteArray = encode(image.width, image.height, 3, image.data)

    /** Opaque ARGB ints (e.g. an overlay) as RGB. */
    fun argb(width: Int, height: Int, pixels: IntArray): ByteArray = rgb(RgbImage.fromArgb(width, height, pixels))

    fun mask(mask: Mask): ByteArray = gray(mask.width, mask.height, mask.toGray())

    private fun encode(width: Int, height: Int, channels: Int, pixels: ByteArray): ByteArray {
        require(pixels.size == width * height * channels) { "buffer size ${pixels.size} != ${width}x${height}x$channels" }
        val rowLen = width * channels
        // Filter type 1 (Sub) on every row: cheap and shrinks smooth photos and flat masks.
        val raw = ByteArray((rowLen + 1) * height)
        for (y in 0 until height) {
            val o = y * (rowLen + 1)
            raw[o] = 1
            val s = y * rowLen
            for (i in 0 until rowLen) {
                val left = if (i >= channels) pixels[s + i - channels].toInt() else 0
                raw[o + 1 + i] = (pixels[s + i].toInt() - left).toByte()
            }
        }
        val deflater = Deflater(6)
        deflater.setInput(raw)
        deflater.finish()
        val compressed = ByteArrayOutputStream()
        val buf = ByteArray(64 * 1024)
        while (!deflater.finished()) compressed.write(buf, 0, deflater.deflate(buf))
        deflater.end()

        val out = ByteArrayOutputStream()
        out.write(SIGNATURE)
        val header = ByteArrayOutputStream().also { b ->
            DataOutputStream(b).apply {
                writeInt(width); writeInt(height)
                writeByte(8) // bit depth
                writeByte(if (channels == 1) 0 else 2) // colour type: gray / RGB
                writeByte(0); writeByte(0); writeByte(0) // deflate, adaptive filters, no interlace
            }
        }.toByteArray()
        chunk(out, "IHDR", header)
        chunk(out, "IDAT", compressed.toByteArray())
        chunk(out, "IEND", ByteArray(0))
        return out.toByteArray()
    }

    private fun chunk(out: ByteArrayOutputStream, type: String, data: ByteArray) {
        val d = DataOutputStream(out)
        d.writeInt(data.size)
        val typeBytes = type.toByteArray(Charsets.US_ASCII)
        d.write(typeBytes)
        d.write(data)
        val crc = CRC32()
        crc.update(typeBytes)
        crc.update(data)
        d.writeInt(crc.value.toInt())
    }
}
