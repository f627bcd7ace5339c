import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}

// The model bundled into the APK, a file stem in tflite/models/: the ISIC-2017 int8 model
// (trained on 1400 dermoscopy images from many clinics) unless -PmininetModel=mininet_ph2_int8
// (100 images from one clinic) is given.
val bundledModel: String = (findProperty("mininetModel") as String?) ?: "mininet_isic2017_fast_int8"

android {
    namespace = "dev.mininet.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.mininet.demo"
        // 26 (Android 8.0): adaptive icons and java.time without desugaring; CameraX and LiteRT
        // support lower, but a clip-on dermatoscope user is unlikely to be on Android 7.
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        // The bundled model's file names, read by LiteRtSegmenter (see bundledModel below).
        buildConfigField("String", "MODEL_ASSET", "\"$bundledModel.tflite\"")
        buildConfigField("String", "CARD_ASSET", "\"$bundledModel.json\"")
    }

    buildTypes {
        release {
            isMinifyEnabled = false
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    buildFeatures {
        compose = true
        buildConfig = true
    }
    androidResources {
        // The interpreter memory-maps the model straight from the APK: it must be stored.
        noCompress += "tflite"
    }
    testOptions {
        // The unit tests exercise only the pure-Kotlin core (no android.* calls).
        unitTests.isReturnDefaultValues = false
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

/**
 * Copies the shipped model and its card from the repository's `tflite/models/` into generated
 * assets. Never hand-copy or edit them: the app checks the model's sha256 against the card at
 * load time, and the card carries the threshold and quantisation the app applies.
 */
abstract class CopyModelAssets : DefaultTask() {
    @get:InputFiles
    @get:PathSensitive(PathSensitivity.NAME_ONLY)
    abstract val modelFiles: ConfigurableFileCollection

    @get:OutputDirectory
    abstract val outputDir: DirectoryProperty

    @TaskAction
    fun copy() {
        val out = outputDir.get().asFile
        out.deleteRecursively()
        out.mkdirs()
        for (file in modelFiles.files) {
            if (!file.isFile) {
                throw GradleException(
                    "$file is missing. Export the int8 model first (python -m mininet_tf.quantize " +
                        "--model mininet_tf/pretrained/mininet_isic2017_fast.keras --out " +
                        "tflite/models/mininet_isic2017_fast_int8.tflite) - see android_demo/README.md."
                )
            }
            file.copyTo(File(out, file.name), overwrite = true)
        }
    }
}

// The repository's model folder, one level above this Gradle project.
val modelDir: File = rootProject.file("../tflite/models")
val copyModelAssets = tasks.register<CopyModelAssets>("copyModelAssets") {
    description = "Copies the bundled model (default mininet_isic2017_fast_int8.tflite) and its JSON " +
        "card from tflite/models/ into the assets."
    modelFiles.from(File(modelDir, "$bundledModel.tflite"), File(modelDir, "$bundledModel.json"))
    outputDir.set(layout.buildDirectory.dir("generated/modelAssets"))
}

androidComponents {
    onVariants { variant ->
        variant.sources.assets?.addGeneratedSourceDirectory(copyModelAssets, CopyModelAssets::outputDir)
    }
}

dependencies {
    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.activity.compose)
    implementation(libs.androidx.lifecycle.runtime.compose)
    implementation(libs.androidx.lifecycle.viewmodel.compose)
    implementation(platform(libs.androidx.compose.bom))
    implementation(libs.androidx.compose.ui)
    implementation(libs.androidx.compose.ui.tooling.preview)
    implementation(libs.androidx.compose.material3)
    debugImplementation(libs.androidx.compose.ui.tooling)
    implementation(libs.androidx.camera.core)
    implementation(libs.androidx.camera.camera2)
    implementation(libs.androidx.camera.lifecycle)
    implementation(libs.androidx.camera.view)
    implementation(libs.androidx.exifinterface)
    implementation(libs.litert)
    implementation(libs.litert.gpu)
    implementation(libs.litert.gpu.api)

    // Same JUnit 4 as Debian's junit4 package used by tests/test_android.py.
    testImplementation(libs.junit)
}
