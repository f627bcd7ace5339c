package dev.mininet.demo.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.io.File

class ResultStoreTest {
    @get:Rule
    val tmp = TemporaryFolder()

    private fun record(id: String, at: Long, scale: Scale? = Scale.FieldOfView(25.0)): ResultRecord {
        val mask = Mask(4, 3).also { it[1, 1] = true; it[2, 1] = true }
        return ResultRecord(
            id = id,
            createdAtMillis = at,
            source = "camera",
            originalWidth = 4000,
            originalHeight = 3000,
            modelFile = "mininet_ph2_int8.tflite",
            modelSha256 = "00ff",
            modelCardFormat = "mininet_tf.tflite_card/1",
            options = PostprocessOptions(0.63, largestComponent = true, fillHoles = false),
            scale = scale,
            accelerator = "GPU",
            timings = StageTimings(1.5, 12.25, 3.0),
            measurements = Measurements.of(mask, scale),
            note = "left forearm \"A\"",
        )
    }

    @Test
    fun recordJsonRoundTrips() {
        for (scale in listOf(Scale.FieldOfView(25.0), Scale.PixelsPerMm(40.0), null)) {
            val r = record("r1", 123L, scale)
            val text = r.toJson()
            assertEquals(r, ResultRecord.fromJson(text))
            assertTrue(text.contains(RESEARCH_NOTICE))
        }
    }

    @Test
    fun savesListsAndDeletes() {
        val root = File(tmp.root, "results")
        val store = FileResultStore(root)
        val image = RgbImage(4, 3, ByteArray(36) { (it * 7).toByte() })
        val mask = Mask(4, 3).also { it[1, 1] = true }
        val overlay = Overlay.render(image, mask, alpha = 100)
        val a = store.save(record("a1", 1000L), image, mask, overlay)
        store.save(record("b2", 2000L), image, mask, overlay)

        assertEquals(listOf("b2", "a1"), store.list().map { it.record.id })
        assertArrayEquals(image.data, TestSupport.readPng(a.image).third)
        assertArrayEquals(mask.toGray(), TestSupport.readPng(a.mask).third)
        assertEquals(record("a1", 1000L), ResultRecord.fromJson(a.json.readText()))
        assertFalse(root.listFiles()!!.any { it.name.startsWith(".tmp") })

        assertTrue(store.delete("a1"))
        assertFalse(store.delete("a1"))
        assertFalse(store.delete("../etc"))
        assertEquals(listOf("b2"), store.list().map { it.record.id })
    }

    @Test
    fun unreadableEntriesAreReportedNotFatal() {
        val root = tmp.newFolder("results")
        File(root, "broken").mkdirs()
        File(root, "broken/result.json").writeText("{not json")
        val store = FileResultStore(root)
        assertEquals(emptyList<SavedResult>(), store.list())
        assertEquals(1, store.problems.size)
        assertTrue(store.problems[0].startsWith("broken:"))
    }

    @Test(expected = IllegalArgumentException::class)
    fun rejectsPathLikeIds() {
        val image = RgbImage(1, 1, ByteArray(3))
        FileResultStore(tmp.root).save(record("../x", 1L), image, Mask(1, 1), IntArray(1))
    }

    @Test
    fun idsSortByTime() {
        val r = java.util.Random(1)
        val ids = listOf(5L, 1_700_000_000_000L, 99L).map { FileResultStore.newId(it, r) }
        assertEquals(ids.sorted(), listOf(ids[0], ids[2], ids[1]))
        assertTrue(ids.all { Regex("r\\d{13}_[0-9a-f]{4}").matches(it) })
    }
}
