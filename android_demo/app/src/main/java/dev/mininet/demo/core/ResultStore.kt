package dev.mininet.demo.core

import java.io.File
import java.io.IOException

/** What the app states on every result and in every saved record. */
const val RESEARCH_NOTICE = "Research use only. Not a medical device and not a diagnosis."

/**
 * One saved result: everything needed to interpret the mask later, including which model file
 * (sha256) and which threshold/options produced it. Serialised as `result.json`.
 */
data class ResultRecord(
    val id: String,
    val createdAtMillis: Long,
    val source: String,
    val originalWidth: Int,
    val originalHeight: Int,
    val modelFile: String,
    val modelSha256: String?,
    val modelCardFormat: String,
    val options: PostprocessOptions,
    val scale: Scale?,
    val accelerator: String,
    val timings: StageTimings,
    val measurements: Measurements,
    val note: String = "",
) {
    fun toJson(): String = Json.write(
        linkedMapOf(
            "format" to FORMAT,
            "id" to id,
            "created_at_ms" to createdAtMillis,
            "source" to source,
            "notice" to RESEARCH_NOTICE,
            "original_image" to linkedMapOf("width" to originalWidth, "height" to originalHeight),
            "model" to linkedMapOf("file" to modelFile, "sha256" to modelSha256, "card_format" to modelCardFormat),
            "postprocess" to linkedMapOf(
                "threshold" to options.threshold,
                "largest_component" to options.largestComponent,
                "fill_holes" to options.fillHoles,
            ),
            "scale" to when (scale) {
                null -> null
                is Scale.FieldOfView -> linkedMapOf("kind" to "field_of_view_mm", "value" to scale.millimetres)
                is Scale.PixelsPerMm -> linkedMapOf("kind" to "pixels_per_mm", "value" to scale.pixels)
            },
            "accelerator" to accelerator,
            "timings" to timings.toJson(),
            "measurements" to measurements.toJson(),
            "files" to linkedMapOf("image" to IMAGE_FILE, "mask" to MASK_FILE, "overlay" to OVERLAY_FILE),
            "note" to note,
        ),
        indent = 1,
    )

    companion object {
        const val FORMAT = "mininet_android.result/1"
        const val IMAGE_FILE = "image.png"
        const val MASK_FILE = "mask.png"
        const val OVERLAY_FILE = "overlay.png"
        const val JSON_FILE = "result.json"

        fun fromJson(text: String): ResultRecord {
            val r = JsonPath(Json.parse(text))
            require(r["format"].string() == FORMAT) { "not a $FORMAT record" }
            val m = r["measurements"]
            val bbox = m["bbox"]
            val scale = r["scale"].let {
                if (it.isNull) null else when (it["kind"].string()) {
                    "field_of_view_mm" -> Scale.FieldOfView(it["value"].double())
                    "pixels_per_mm" -> Scale.PixelsPerMm(it["value"].double())
                    else -> throw IllegalArgumentException("unknown scale kind ${it["kind"].string()}")
                }
            }
            val t = r["timings"]
            val p = r["postprocess"]
            return ResultRecord(
                id = r["id"].string(),
                createdAtMillis = r["created_at_ms"].long(),
                source = r["source"].string(),
                originalWidth = r["original_image"]["width"].int(),
                originalHeight = r["original_image"]["height"].int(),
                modelFile = r["model"]["file"].string(),
                modelSha256 = r["model"]["sha256"].stringOrNull(),
                modelCardFormat = r["model"]["card_format"].string(),
                options = PostprocessOptions(p["threshold"].double(), p["largest_component"].boolean(), p["fill_holes"].boolean()),
                scale = scale,
                accelerator = r["accelerator"].string(),
                timings = StageTimings(t["preprocess_ms"].double(), t["inference_ms"].double(), t["postprocess_ms"].double()),
                measurements = Measurements(
                    imageWidth = m["image_width"].int(),
                    imageHeight = m["image_height"].int(),
                    areaPx = m["area_px"].int(),
                    areaFraction = m["area_fraction"].double(),
                    boundingBox = if (bbox.isNull) null else BoundingBox(bbox["x"].int(), bbox["y"].int(), bbox["width"].int(), bbox["height"].int()),
                    equivalentDiameterPx = m["equivalent_diameter_px"].double(),
                    centroidX = if (m["centroid"].isNull) null else m["centroid"]["x"].double(),
                    centroidY = if (m["centroid"].isNull) null else m["centroid"]["y"].double(),
                    mmPerPixel = m["mm_per_px"].doubleOrNull(),
                ),
                note = if (r.has("note")) r["note"].string() else "",
            )
        }
    }
}

/** A saved result on disk: its record and the folder holding image, mask, overlay and JSON. */
data class SavedResult(val record: ResultRecord, val folder: File) {
    val image get() = File(folder, ResultRecord.IMAGE_FILE)
    val mask get() = File(folder, ResultRecord.MASK_FILE)
    val overlay get() = File(folder, ResultRecord.OVERLAY_FILE)
    val json get() = File(folder, ResultRecord.JSON_FILE)
}

interface ResultStore {
    fun save(record: ResultRecord, image: RgbImage, mask: Mask, overlayArgb: IntArray): SavedResult
    /** Newest first; unreadable folders are skipped (reported through [problems]). */
    fun list(): List<SavedResult>
    fun delete(id: String): Boolean
    val problems: List<String>
}

/**
 * Results as folders under [root] (the app passes `filesDir/results`: private app storage,
 * shared only through the share intent's FileProvider grant).
 *
 * A result is written into a hidden temporary folder and renamed into place, so a crash or a
 * full disk never leaves a half-written entry in the history.
 */
class FileResultStore(private val root: File) : ResultStore {
    private val _problems = mutableListOf<String>()
    override val problems: List<String> get() = _problems.toList()

    override fun save(record: ResultRecord, image: RgbImage, mask: Mask, overlayArgb: IntArray): SavedResult {
        require(ID.matches(record.id)) { "bad result id '${record.id}'" }
        require(image.width == mask.width && image.height == mask.height) { "image and mask sizes differ" }
        if (!root.isDirectory && !root.mkdirs()) throw IOException("cannot create $root")
        val target = File(root, record.id)
        if (target.exists()) throw IOException("result ${record.id} already exists")
        val tmp = File(root, ".tmp-${record.id}")
        tmp.deleteRecursively()
        if (!tmp.mkdirs()) throw IOException("cannot create $tmp")
        try {
            File(tmp, ResultRecord.IMAGE_FILE).writeBytes(PngWriter.rgb(image))
            File(tmp, ResultRecord.MASK_FILE).writeBytes(PngWriter.mask(mask))
            File(tmp, ResultRecord.OVERLAY_FILE).writeBytes(PngWriter.argb(image.width, image.height, overlayArgb))
            File(tmp, ResultRecord.JSON_FILE).writeText(record.toJson())
            if (!tmp.renameTo(target)) throw IOException("cannot move $tmp to $target")
        } catch (e: Exception) {
            tmp.deleteRecursively()
            throw e
        }
        return SavedResult(record, target)
    }

    override fun list(): List<SavedResult> {
        _problems.clear()
        val dirs = root.listFiles { f -> f.isDirectory && !f.name.startsWith(".") } ?: return emptyList()
        val out = ArrayList<SavedResult>()
        for (dir in dirs) {
            try {
                out.add(SavedResult(ResultRecord.fromJson(File(dir, ResultRecord.JSON_FILE).readText()), dir))
            } catch (e: Exception) {
                _problems.add("${dir.name}: ${e.message}")
            }
        }
        return out.sortedWith(compareByDescending<SavedResult> { it.record.createdAtMillis }.thenByDescending { it.record.id })
    }

    override fun delete(id: String): Boolean {
        if (!ID.matches(id)) return false
        val dir = File(root, id)
        return dir.isDirectory && dir.deleteRecursively()
    }

    companion object {
        private val ID = Regex("[A-Za-z0-9_-]{1,64}")

        /** Sortable, filesystem-safe id from a timestamp plus a random suffix. */
        fun newId(nowMillis: Long, random: java.util.Random = java.util.Random()): String =
            "r%013d_%04x".format(nowMillis, random.nextInt(0x10000))
    }
}
