// Mini-Net dermoscopy demo: one app module. The pure-Kotlin core lives in the app module's
// `dev.mininet.demo.core` package (no android.* imports) so it is also compiled and unit-tested
// without the Android SDK (tests/test_android.py at the repository root).
pluginManagement {
    repositories {
        google {
            content {
                includeGroupByRegex("com\\.android.*")
                includeGroupByRegex("com\\.google.*")
                includeGroupByRegex("androidx.*")
            }
        }
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "MiniNetDermDemo"
include(":app")
