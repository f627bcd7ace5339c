package dev.mininet.demo.core

/** A binary lesion mask, row-major, one byte per pixel (0 background, 1 lesion). */
class Mask(val width: Int, val height: Int, val data: ByteArray = ByteArray(width * height)) {
    init {
        require(width > 0 && height > 0) { "empty mask ${width}x$height" }
        require(data.size == width * height) { "expected ${width * height} bytes, got ${data.size}" }
    }

    operator fun get(x: Int, y: Int): Boolean = data[y * width + x].toInt() != 0
    operator fun set(x: Int, y: Int, value: Boolean) { data[y * width + x] = if (value) 1 else 0 }

    fun count(): Int = data.count { it.toInt() != 0 }

    /** 0/255 bytes, the convention of the Python tools' mask PNGs. */
    fun toGray(): ByteArray = ByteArray(data.size) { if (data[it].toInt() != 0) 0xFF.toByte() else 0 }

    fun copy() = Mask(width, height, data.copyOf())

    override fun equals(other: Any?) = other is Mask && other.width == width && other.height == height && other.data.contentEquals(data)
    override fun hashCode() = 31 * (31 * width + height) + data.contentHashCode()

    companion object {
        /** From a 0/255 (or any 0/non-zero) grayscale buffer. */
        fun fromGray(width: Int, height: Int, gray: ByteArray) =
            Mask(width, height, ByteArray(gray.size) { if (gray[it].toInt() != 0) 1 else 0 })
    }
}

/**
 * Connected-component clean-ups offered as options on the result screen.
 *
 * Connectivity follows the usual digital-topology pairing: lesion pixels are 8-connected, so the
 * background is 4-connected; a diagonal gap therefore never both joins two lesion parts and
 * lets the background leak through, and a "hole" is well defined.
 */
object MaskOps {
    /**
     * Keeps only the largest 8-connected component. Ties go to the component whose first pixel
     * comes first in raster order (deterministic, and what the golden generator does).
     */
    fun largestComponent(mask: Mask): Mask {
        val labels = IntArray(mask.data.size)
        val sizes = ArrayList<Int>()
        val stack = IntArray(mask.data.size)
        val w = mask.width
        val h = mask.height
        var best = 0
        var bestSize = 0
        for (start in mask.data.indices) {
            if (mask.data[start].toInt() == 0 || labels[start] != 0) continue
            val label = sizes.size + 1
            var top = 0
            stack[top++] = start
            labels[start] = label
            var size = 0
            while (top > 0) {
                val p = stack[--top]
                size++
                val px = p % w
                val py = p / w
                for (dy in -1..1) for (dx in -1..1) {
                    if (dx == 0 && dy == 0) continue
                    val nx = px + dx
                    val ny = py + dy
                    if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue
                    val q = ny * w + nx
                    if (mask.data[q].toInt() != 0 && labels[q] == 0) {
                        labels[q] = label
                        stack[top++] = q
                    }
                }
            }
            sizes.add(size)
            if (size > bestSize) { bestSize = size; best = label } // strict: first wins ties
        }
        if (best == 0) return mask.copy()
        return Mask(w, h, ByteArray(labels.size) { if (labels[it] == best) 1 else 0 })
    }

    /** Intersection over union of two same-size masks; two empty masks count as identical (1.0). */
    fun iou(a: Mask, b: Mask): Double {
        require(a.width == b.width && a.height == b.height) {
            "masks ${a.width}x${a.height} and ${b.width}x${b.height} differ"
        }
        var inter = 0
        var union = 0
        for (i in a.data.indices) {
            val pa = a.data[i].toInt() != 0
            val pb = b.data[i].toInt() != 0
            if (pa && pb) inter++
            if (pa || pb) union++
        }
        return if (union == 0) 1.0 else inter.toDouble() / union
    }

    /** Fills background regions (4-connected) that do not reach the image border. */
    fun fillHoles(mask: Mask): Mask {
        val w = mask.width
        val h = mask.height
        val outside = BooleanArray(mask.data.size)
        val stack = IntArray(mask.data.size)
        var top = 0
        fun seed(p: Int) {
            if (mask.data[p].toInt() == 0 && !outside[p]) { outside[p] = true; stack[top++] = p }
        }
        for (x in 0 until w) { seed(x); seed((h - 1) * w + x) }
        for (y in 0 until h) { seed(y * w); seed(y * w + w - 1) }
        while (top > 0) {
            val p = stack[--top]
            val px = p % w
            val py = p / w
            if (px > 0) seed(p - 1)
            if (px < w - 1) seed(p + 1)
            if (py > 0) seed(p - w)
            if (py < h - 1) seed(p + w)
        }
        return Mask(w, h, ByteArray(outside.size) { if (outside[it]) 0 else 1 })
    }
}
