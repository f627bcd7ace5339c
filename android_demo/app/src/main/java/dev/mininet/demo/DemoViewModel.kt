package dev.mininet.demo

import android.app.Application
import android.content.ClipData
import android.content.Context
import android.content.Intent
import android.net.Uri
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.setValue
import androidx.core.content.FileProvider
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import dev.mininet.demo.core.Analysis
import dev.mininet.demo.core.FileResultStore
import dev.mininet.demo.core.Measurements
import dev.mininet.demo.core.ModelCard
import dev.mininet.demo.core.Overlay
import dev.mininet.demo.core.PostprocessOptions
import dev.mininet.demo.core.ResultRecord
import dev.mininet.demo.core.SavedResult
import dev.mininet.demo.core.Scale
import dev.mininet.demo.core.SegmentationModel
import dev.mininet.demo.core.SegmentationPipeline
import dev.mininet.demo.io.DecodedPhoto
import dev.mininet.demo.io.ImageDecoding
import dev.mininet.demo.ml.LiteRtSegmenter
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.io.File

enum class Screen { HOME, CAMERA, RESULT, HISTORY }

/** What the UI shows about the loaded model. */
data class ModelStatus(val card: ModelCard, val accelerator: String, val fallbackReason: String?)

/**
 * UI state and the glue between screens and the core. Heavy work runs on Dispatchers.Default;
 * all maths is delegated to `dev.mininet.demo.core` (unit-tested off-device).
 */
class DemoViewModel(app: Application) : AndroidViewModel(app) {
    var screen by mutableStateOf(Screen.HOME)
    var preferGpu by mutableStateOf(true)
        private set
    var modelStatus by mutableStateOf<ModelStatus?>(null)
        private set
    var busy by mutableStateOf(false)
        private set
    var message by mutableStateOf<String?>(null)
    var analysis by mutableStateOf<Analysis?>(null)
        private set
    var photo by mutableStateOf<DecodedPhoto?>(null)
        private set
    var opacityPercent by mutableStateOf(45)
    var outline by mutableStateOf(true)
    var fovMmText by mutableStateOf("")
    var pxPerMmText by mutableStateOf("")
    var history by mutableStateOf<List<SavedResult>>(emptyList())
        private set
    var saved by mutableStateOf<SavedResult?>(null)
        private set

    private var source = "camera"
    // Volatile: the camera's analysis thread reads it for the live preview.
    @Volatile
    private var model: LiteRtSegmenter? = null
    private var pipeline: SegmentationPipeline? = null
    private val store = FileResultStore(File(app.filesDir, "results"))

    init {
        reloadModel()
    }

    fun setPreferGpu(value: Boolean) {
        if (value == preferGpu) return
        preferGpu = value
        reloadModel()
    }

    private fun reloadModel() {
        viewModelScope.launch {
            busy = true
            try {
                // Drop the old interpreter before opening the new one (never two delegates alive).
                val old = model
                model = null
                pipeline = null
                val choice = withContext(Dispatchers.Default) {
                    old?.close()
                    LiteRtSegmenter.open(getApplication<Application>(), preferGpu)
                }
                model = choice.model
                pipeline = SegmentationPipeline(choice.model)
                modelStatus = ModelStatus(choice.model.card, choice.accelerator, choice.fallbackReason)
            } catch (e: Exception) {
                message = "Model could not be loaded: ${e.message}"
            } finally {
                busy = false
            }
        }
    }

    /** The loaded model, shared with the camera's live preview (null while loading). */
    fun liveModel(): SegmentationModel? = model

    /** The user's scale, if one of the two fields holds a positive number. */
    fun scale(): Scale? {
        fovMmText.replace(',', '.').toDoubleOrNull()?.takeIf { it > 0 }?.let { return Scale.FieldOfView(it) }
        pxPerMmText.replace(',', '.').toDoubleOrNull()?.takeIf { it > 0 }?.let { return Scale.PixelsPerMm(it) }
        return null
    }

    fun measurements(): Measurements? = analysis?.let { Measurements.of(it.mask, scale()) }

    fun analyse(uri: Uri, from: String) {
        val p = pipeline ?: run { message = "The model is not loaded yet."; return }
        viewModelScope.launch {
            busy = true
            saved = null
            try {
                val (decoded, result) = withContext(Dispatchers.Default) {
                    val d = ImageDecoding.decode(getApplication<Application>(), uri)
                    d to p.analyse(d.image, analysis?.options?.copy(threshold = p.card.threshold) ?: p.defaultOptions())
                }
                photo = decoded
                analysis = result
                source = from
                screen = Screen.RESULT
            } catch (e: Exception) {
                message = "Analysis failed: ${e.message}"
            } finally {
                busy = false
            }
        }
    }

    fun setOptions(largestComponent: Boolean, fillHoles: Boolean) {
        val a = analysis ?: return
        val p = pipeline ?: return
        viewModelScope.launch {
            val options = PostprocessOptions(a.options.threshold, largestComponent, fillHoles)
            analysis = withContext(Dispatchers.Default) { p.reprocess(a, options) }
            saved = null
        }
    }

    fun overlayArgb(a: Analysis): IntArray =
        Overlay.render(a.image, a.mask, alpha = Overlay.alphaForPercent(opacityPercent), outline = outline)

    fun save(onSaved: (SavedResult) -> Unit = {}) {
        val a = analysis ?: return
        val d = photo ?: return
        val card = modelStatus?.card ?: return
        viewModelScope.launch {
            try {
                val result = withContext(Dispatchers.IO) {
                    val now = System.currentTimeMillis()
                    val record = ResultRecord(
                        id = FileResultStore.newId(now),
                        createdAtMillis = now,
                        source = source,
                        originalWidth = d.originalWidth,
                        originalHeight = d.originalHeight,
                        modelFile = card.modelFile,
                        modelSha256 = card.sha256,
                        modelCardFormat = card.format,
                        options = a.options,
                        scale = scale(),
                        accelerator = a.accelerator,
                        timings = a.timings,
                        measurements = Measurements.of(a.mask, scale()),
                    )
                    store.save(record, a.image, a.mask, overlayArgb(a))
                }
                saved = result
                message = "Saved ${result.record.id}"
                onSaved(result)
            } catch (e: Exception) {
                message = "Saving failed: ${e.message}"
            }
        }
    }

    fun share(context: Context, result: SavedResult) {
        val authority = "${context.packageName}.fileprovider"
        val uris = arrayListOf(result.overlay, result.mask, result.image, result.json).map { FileProvider.getUriForFile(context, authority, it) }
        val intent = Intent(Intent.ACTION_SEND_MULTIPLE).apply {
            type = "*/*"
            putParcelableArrayListExtra(Intent.EXTRA_STREAM, ArrayList(uris))
            putExtra(Intent.EXTRA_TEXT, "Mini-Net lesion segmentation (${result.record.modelFile}). ${dev.mininet.demo.core.RESEARCH_NOTICE}")
            clipData = ClipData.newRawUri(null, uris[0]).also { clip -> uris.drop(1).forEach { clip.addItem(ClipData.Item(it)) } }
            addFlags(Intent.FLAG_GRANT_READ_URI_PERMISSION)
        }
        context.startActivity(Intent.createChooser(intent, context.getString(R.string.share_chooser)))
    }

    fun shareCurrent(context: Context) {
        val s = saved
        if (s != null) share(context, s) else save { share(context, it) }
    }

    fun loadHistory() {
        viewModelScope.launch {
            history = withContext(Dispatchers.IO) { store.list() }
            store.problems.firstOrNull()?.let { message = "Some results could not be read: $it" }
        }
    }

    fun delete(id: String) {
        viewModelScope.launch {
            withContext(Dispatchers.IO) { store.delete(id) }
            loadHistory()
        }
    }

    override fun onCleared() {
        model?.close()
    }
}
