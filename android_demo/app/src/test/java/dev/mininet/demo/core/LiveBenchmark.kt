package dev.mininet.demo.core

/**
 * JVM timing of the live preview's CPU work per frame, without the model: YUV -> RGB (with the
 * rotation), the Pillow-bilinear resize to the model input, then dequantise + threshold + framing
 * cue on a model-size output. Prints figures, asserts nothing (a timing is not a test here).
 *
 *     java -cp <compiled core+tests>:kotlin-stdlib.jar dev.mininet.demo.core.LiveBenchmarkKt [frames]
 *
 * The frame is NV21-like (pixelStride 2), rotated 90 degrees as on a portrait phone, with a dark
 * disc (the "lesion") on skin tones; the fake model output is the inverted red channel of its
 * input, so the cue code sees a realistic blob.
 */
fun main(args: Array<String>) {
    val frames = args.firstOrNull()?.toInt() ?: 300
    val card = ModelCard.parse(TestSupport.cardJson(size = 128, scale = 1.0 / 255, threshold = 0.5))
    println("JVM ${System.getProperty("java.vm.name")} ${System.getProperty("java.version")}, " +
        "${Runtime.getRuntime().availableProcessors()} CPUs visible; $frames timed frames after ${frames / 3} warm-up")
    for ((w, h) in listOf(640 to 480, 1280 to 960)) bench(card, w, h, frames)
}

private fun bench(card: ModelCard, w: Int, h: Int, frames: Int) {
    val frame = syntheticFrame(w, h)
    val pre = ResizePreprocessor(card)
    val advisor = FramingAdvisor()
    val n = card.output.width * card.output.height
    val convert = DoubleArray(frames)
    val resize = DoubleArray(frames)
    val cue = DoubleArray(frames)
    var sink = 0
    for (i in -(frames / 3) until frames) {
        val t0 = System.nanoTime()
        val rgb = YuvToRgb.convert(frame)
        val t1 = System.nanoTime()
        val input = pre.preprocess(rgb)
        val t2 = System.nanoTime()
        val raw = ByteArray(n) { (255 - (input[it * 3].toInt() and 0xFF)).toByte() }
        val prob = ResizeBackPostprocessor.dequantize(raw, card.output)
        val mask = ResizeBackPostprocessor.threshold(prob, card.output.width, card.output.height, card.threshold)
        val state = advisor.update(mask)
        val t3 = System.nanoTime()
        sink += state.cue.ordinal + input[0]
        if (i >= 0) {
            convert[i] = (t1 - t0) / 1e6
            resize[i] = (t2 - t1) / 1e6
            cue[i] = (t3 - t2) / 1e6
        }
    }
    val total = DoubleArray(frames) { convert[it] + resize[it] + cue[it] }
    fun line(name: String, a: DoubleArray): String {
        val s = a.sorted()
        return "  %-28s median %6.2f ms  p90 %6.2f ms".format(name, s[s.size / 2], s[(s.size * 9) / 10])
    }
    println("${w}x$h frame (rotation 90) -> ${card.inputWidth}x${card.inputHeight} model input (sink $sink):")
    println(line("YUV -> RGB + rotation", convert))
    println(line("Pillow-bilinear resize", resize))
    println(line("threshold + framing cue", cue))
    println(line("total (no inference)", total))
}

/** Skin-toned NV21-like frame with a dark disc in the middle and a little texture. */
private fun syntheticFrame(w: Int, h: Int): YuvFrame {
    val y = ByteArray(w * h)
    for (r in 0 until h) for (c in 0 until w) {
        val dx = c - w / 2.0
        val dy = r - h / 2.0
        val inside = dx * dx + dy * dy < (h / 4.0) * (h / 4.0)
        y[r * w + c] = ((if (inside) 60 else 170) + (r * 7 + c * 13) % 9).toByte()
    }
    val cw = w / 2
    val ch = h / 2
    val vu = ByteArray(cw * 2 * ch)
    for (i in 0 until cw * ch) {
        vu[2 * i] = 150.toByte() // V: reddish skin
        vu[2 * i + 1] = 115.toByte() // U
    }
    val v = YuvPlane(vu.copyOfRange(0, vu.size - 1), cw * 2, 2)
    val u = YuvPlane(vu.copyOfRange(1, vu.size), cw * 2, 2)
    return YuvFrame(w, h, YuvPlane(y, w, 1), u, v, 90)
}
