package dev.mininet.demo.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.io.File

class ModelCardTest {
    @Test
    fun parsesTheExportedCardUsedForTheGoldens() {
        val card = ModelCard.parse(File(TestSupport.goldenDir(), "model_card.json").readText())
        assertTrue(card.format.startsWith("mininet_tf.tflite_card/"))
        assertEquals(3, card.inputChannels)
        assertEquals(card.inputHeight, card.output.height)
        assertTrue(card.threshold > 0 && card.threshold < 1)
        if (card.output.dtype != "float32") {
            // The card's quantised threshold must agree with the float rule the app applies.
            val q = card.thresholdQuantized!!
            val deq = { v: Int -> (v.toFloat() - card.output.zeroPoint!!.toFloat()) * card.output.scale!!.toFloat() }
            assertTrue(deq(q) >= card.threshold.toFloat())
            assertTrue(deq(q - 1) < card.threshold.toFloat())
        }
    }

    @Test
    fun parsesAMinimalCard() {
        val card = ModelCard.parse(TestSupport.cardJson(size = 16, threshold = 0.63))
        assertEquals(16, card.inputHeight)
        assertEquals(16, card.inputWidth)
        assertEquals("resize", card.policyMode)
        assertEquals(0.63, card.threshold, 0.0)
        assertEquals("uint8", card.output.dtype)
        assertEquals(0.00390625, card.output.scale!!, 0.0)
        assertEquals("ph2", card.dataset)
        assertEquals(37831, card.parameters)
        assertEquals("m.tflite (abc)", card.versionLabel)
    }

    @Test
    fun floatOutputHasNoQuantisation() {
        val card = ModelCard.parse(TestSupport.cardJson(outDtype = "float32"))
        assertNull(card.output.scale)
        assertEquals(4, card.output.bytesPerElement)
    }

    @Test
    fun rejectsCardsTheAppCannotHonour() {
        val cases = mapOf(
            TestSupport.cardJson().replace("\"dtype\": \"uint8\", \"quantization\"", "\"dtype\": \"float32\", \"quantization\"") to "input dtype",
            TestSupport.cardJson().replace("mininet_tf.tflite_card/1", "other/1") to "format",
            TestSupport.cardJson().replace("\"size\": [8, 8]", "\"size\": [8, 16]") to "input_policy.size",
            TestSupport.cardJson(threshold = 1.5) to "threshold",
            TestSupport.cardJson().replace("\"scale\": 1.0", "\"scale\": 0.5") to "input quantisation",
        )
        for ((text, expected) in cases) {
            try {
                ModelCard.parse(text)
                fail("accepted a card with a bad $expected")
            } catch (e: IllegalArgumentException) {
                assertTrue("${e.message} should mention $expected", e.message!!.contains(expected))
            }
        }
    }

    @Test
    fun tilePolicyIsParsedButNotPreprocessed() {
        val card = ModelCard.parse(TestSupport.cardJson(policy = "tile"))
        try {
            ResizePreprocessor(card)
            fail()
        } catch (e: IllegalArgumentException) {
            assertTrue(e.message!!.contains("'tile'"))
        }
    }
}
