package dev.mininet.demo.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File

/**
 * Kotlin core vs the Python reference on the files written by
 * `android_demo/tools/make_goldens.py` (int8 model run in Python on synthetic lesions).
 *
 * Every comparison is exact: input tensor bytes, float32 bits of resized probabilities, mask
 * bytes, measurement doubles, overlay bytes. The raw model output is the Python one, so these
 * tests pin everything the app does around the interpreter.
 */
class GoldenTest {
    private val dir: File = TestSupport.goldenDir()
    private val manifest = JsonPath(Json.parse(File(dir, "manifest.json").readText()))
    private val model = manifest["model"]

    /** The card as the goldens saw it (the resize policy is applied regardless of the card's). */
    private val spec = ModelCard.OutputSpec(
        model["output_dtype"].string(),
        model["output_scale"].doubleOrNull(),
        model["output_zero_point"].intOrNull(),
        model["input_height"].int(),
        model["input_width"].int(),
    )
    private val card = ModelCard(
        format = "mininet_tf.tflite_card/1", modelFile = model["file"].string(), sha256 = model["sha256"].string(),
        mode = "int8", inputHeight = spec.height, inputWidth = spec.width, inputChannels = 3, output = spec,
        policyMode = "resize", threshold = model["threshold"].double(), thresholdQuantized = null,
        dataset = null, parameters = null,
    )

    private fun image(name: String): RgbImage {
        val (size, bands, bytes) = TestSupport.readPng(File(dir, name))
        assertEquals(3, bands)
        return RgbImage(size.first, size.second, bytes)
    }

    @Test
    fun manifestHasSamplesAndResizeCases() {
        assertEquals("mininet_android.golden/1", manifest["format"].string())
        assertTrue(manifest["samples"].size() >= 3)
        assertTrue(manifest["resize_cases"].size() >= 3)
    }

    @Test
    fun preprocessingReproducesTheInputTensorBytes() {
        for (s in manifest["samples"].list()) {
            val img = image(s["image"].string())
            assertEquals(s["width"].int(), img.width)
            val tensor = ResizePreprocessor(card).preprocess(img)
            assertEquals(s["name"].string(), s["input_sha256"].string(), TestSupport.sha256(tensor))
            assertArrayEquals(image(s["input"].string()).data, tensor)
        }
    }

    @Test
    fun resizedProbabilitiesMatchBitForBit() {
        for (s in manifest["samples"].list()) {
            val raw = File(dir, s["output"].string()).readBytes()
            assertEquals(s["output_sha256"].string(), TestSupport.sha256(raw))
            val small = ResizeBackPostprocessor.dequantize(raw, spec)
            val w = s["width"].int()
            val h = s["height"].int()
            val prob = PillowResample.resizeFloat(small, spec.width, spec.height, w, h)
            for (p in s["prob_probes"].list()) {
                val v = prob[p["y"].int() * w + p["x"].int()]
                assertEquals("${s["name"].string()} probe $p", p["bits"].long().toInt(), java.lang.Float.floatToRawIntBits(v))
            }
            assertEquals(s["name"].string(), s["prob_sha256"].string(), TestSupport.sha256(TestSupport.floatBytesLE(prob)))
        }
    }

    @Test
    fun masksMeasurementsAndOverlaysMatchEveryVariant() {
        val overlay = manifest["overlay"]
        val fov = Scale.FieldOfView(manifest["fov_mm"].double())
        for (s in manifest["samples"].list()) {
            val raw = File(dir, s["output"].string()).readBytes()
            val img = image(s["image"].string())
            for (key in s["variants"].keys()) {
                val v = s["variants"][key]
                val label = "${s["name"].string()}/$key"
                val options = PostprocessOptions(card.threshold, v["largest_component"].boolean(), v["fill_holes"].boolean())
                val mask = ResizeBackPostprocessor(card).postprocess(raw, img.width, img.height, options)
                val (_, bands, expected) = TestSupport.readPng(File(dir, v["mask"].string()))
                assertEquals(1, bands)
                assertArrayEquals(label, expected, mask.toGray())
                assertEquals(label, v["mask_sha256"].string(), TestSupport.sha256(mask.data))

                val m = Measurements.of(mask, fov)
                val e = v["measurements"]
                assertEquals(label, e["area_px"].int(), m.areaPx)
                assertEquals(label, e["area_fraction"].double(), m.areaFraction, 0.0)
                assertEquals(label, e["equivalent_diameter_px"].double(), m.equivalentDiameterPx, 0.0)
                assertEquals(label, e["mm_per_px"].double(), m.mmPerPixel!!, 0.0)
                assertEquals(label, e["area_mm2"].double(), m.areaMm2!!, 0.0)
                assertEquals(label, e["equivalent_diameter_mm"].double(), m.equivalentDiameterMm!!, 0.0)
                if (e["bbox"].isNull) {
                    assertEquals(null, m.boundingBox)
                } else {
                    val b = e["bbox"]
                    assertEquals(label, BoundingBox(b["x"].int(), b["y"].int(), b["width"].int(), b["height"].int()), m.boundingBox)
                    assertEquals(label, e["centroid"]["x"].double(), m.centroidX!!, 0.0)
                    assertEquals(label, e["centroid"]["y"].double(), m.centroidY!!, 0.0)
                }

                val argb = Overlay.render(img, mask, overlay["color"].long().toInt(), overlay["alpha"].int(), overlay["outline"].boolean())
                val rgb = RgbImage.fromArgb(img.width, img.height, argb).data
                assertEquals(label, v["overlay_rgb_sha256"].string(), TestSupport.sha256(rgb))
            }
        }
    }

    @Test
    fun resizeCasesMatchIncludingLargeDownscales() {
        for (c in manifest["resize_cases"].list()) {
            val ih = c["in_height"].int()
            val iw = c["in_width"].int()
            val oh = c["out_height"].int()
            val ow = c["out_width"].int()
            val label = "${iw}x$ih -> ${ow}x$oh"
            val rgb = PillowResample.resizeBytes(Patterns.rgb(iw, ih), iw, ih, 3, ow, oh)
            for (p in c["rgb_probes"].list()) {
                val o = (p["y"].int() * ow + p["x"].int()) * 3
                val got = (0..2).map { rgb[o + it].toInt() and 0xFF }
                assertEquals("$label at $p", p["rgb"].list().map { it.int() }, got)
            }
            assertEquals(label, c["rgb_sha256"].string(), TestSupport.sha256(rgb))
            val f = PillowResample.resizeFloat(Patterns.prob(iw, ih), iw, ih, ow, oh)
            for (p in c["float_probes"].list()) {
                val v = f[p["y"].int() * ow + p["x"].int()]
                assertEquals("$label at $p", p["bits"].long().toInt(), java.lang.Float.floatToRawIntBits(v))
            }
            assertEquals(label, c["float_sha256"].string(), TestSupport.sha256(TestSupport.floatBytesLE(f)))
        }
    }

    /** The formula images of make_goldens.py (`pattern_uint8`, `pattern_float`). */
    object Patterns {
        fun rgb(w: Int, h: Int) = ByteArray(w * h * 3) { i ->
            val c = i % 3
            val x = (i / 3) % w
            val y = (i / 3) / w
            ((x.toLong() * 31 + y * 17 + c * 85 + ((x.toLong() * y) % 23) * 7) % 256).toInt().toByte()
        }

        fun prob(w: Int, h: Int) = FloatArray(w * h) { i ->
            val x = i % w
            val y = i / w
            ((x * 13 + y * 7) % 101).toFloat() / 100f
        }
    }
}
