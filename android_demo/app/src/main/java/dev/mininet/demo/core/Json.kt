package dev.mininet.demo.core

/**
 * A minimal JSON reader and writer.
 *
 * Why not org.json: on Android it is part of the platform (android.jar), so it is missing from a
 * plain JVM and the core could not be unit-tested off-device; kotlinx.serialization would need a
 * compiler plugin and a Maven dependency we cannot fetch here. Model cards and result records
 * are small, so a 150-line recursive-descent parser is enough.
 *
 * Values map to Kotlin as: object -> LinkedHashMap<String, Any?> (key order kept), array ->
 * List<Any?>, string -> String, number -> Long when written without fraction/exponent and in
 * range, else Double, true/false -> Boolean, null -> null.
 */
object Json {
    class ParseException(message: String, val offset: Int) : IllegalArgumentException("$message at offset $offset")

    fun parse(text: String): Any? {
        val reader = Reader(text)
        reader.skipWhitespace()
        val value = reader.readValue(depth = 0)
        reader.skipWhitespace()
        if (!reader.atEnd()) throw ParseException("trailing characters", reader.pos)
        return value
    }

    @Suppress("UNCHECKED_CAST")
    fun parseObject(text: String): Map<String, Any?> =
        parse(text) as? Map<String, Any?> ?: throw ParseException("top-level value is not an object", 0)

    /** Serialises maps, lists, strings, numbers, booleans and null; keys keep insertion order. */
    fun write(value: Any?, indent: Int = 0): String = StringBuilder().also { writeTo(it, value, indent, 0) }.toString()

    private const val MAX_DEPTH = 64

    private class Reader(val s: String) {
        var pos = 0

        fun atEnd() = pos >= s.length

        fun skipWhitespace() {
            while (pos < s.length && (s[pos] == ' ' || s[pos] == '\n' || s[pos] == '\r' || s[pos] == '\t')) pos++
        }

        fun readValue(depth: Int): Any? {
            if (depth > MAX_DEPTH) throw ParseException("nesting deeper than $MAX_DEPTH", pos)
            if (atEnd()) throw ParseException("unexpected end of input", pos)
            return when (val c = s[pos]) {
                '{' -> readObject(depth)
                '[' -> readArray(depth)
                '"' -> readString()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> if (c == '-' || c in '0'..'9') readNumber() else throw ParseException("unexpected character '$c'", pos)
            }
        }

        private fun literal(word: String, value: Any?): Any? {
            if (!s.startsWith(word, pos)) throw ParseException("invalid literal", pos)
            pos += word.length
            return value
        }

        private fun readObject(depth: Int): Map<String, Any?> {
            val out = LinkedHashMap<String, Any?>()
            pos++ // {
            skipWhitespace()
            if (!atEnd() && s[pos] == '}') { pos++; return out }
            while (true) {
                skipWhitespace()
                if (atEnd() || s[pos] != '"') throw ParseException("expected a string key", pos)
                val key = readString()
                skipWhitespace()
                expect(':')
                skipWhitespace()
                out[key] = readValue(depth + 1)
                skipWhitespace()
                if (atEnd()) throw ParseException("unterminated object", pos)
                when (s[pos]) {
                    ',' -> pos++
                    '}' -> { pos++; return out }
                    else -> throw ParseException("expected ',' or '}'", pos)
                }
            }
        }

        private fun readArray(depth: Int): List<Any?> {
            val out = ArrayList<Any?>()
            pos++ // [
            skipWhitespace()
            if (!atEnd() && s[pos] == ']') { pos++; return out }
            while (true) {
                skipWhitespace()
                out.add(readValue(depth + 1))
                skipWhitespace()
                if (atEnd()) throw ParseException("unterminated array", pos)
                when (s[pos]) {
                    ',' -> pos++
                    ']' -> { pos++; return out }
                    else -> throw ParseException("expected ',' or ']'", pos)
                }
            }
        }

        private fun expect(c: Char) {
            if (atEnd() || s[pos] != c) throw ParseException("expected '$c'", pos)
            pos++
        }

        private fun readString(): String {
            pos++ // opening quote
            val sb = StringBuilder()
            while (true) {
                if (atEnd()) throw ParseException("unterminated string", pos)
                val c = s[pos++]
                when {
                    c == '"' -> return sb.toString()
                    c == '\\' -> {
                        if (atEnd()) throw ParseException("unterminated escape", pos)
                        when (val e = s[pos++]) {
                            '"' -> sb.append('"')
                            '\\' -> sb.append('\\')
                            '/' -> sb.append('/')
                            'b' -> sb.append('\b')
                            'f' -> sb.append('\u000C')
                            'n' -> sb.append('\n')
                            'r' -> sb.append('\r')
                            't' -> sb.append('\t')
                            'u' -> {
                                if (pos + 4 > s.length) throw ParseException("short \\u escape", pos)
                                val code = s.substring(pos, pos + 4).toIntOrNull(16)
                                    ?: throw ParseException("bad \\u escape", pos)
                                sb.append(code.toChar())
                                pos += 4
                            }
                            else -> throw ParseException("bad escape '\\$e'", pos - 1)
                        }
                    }
                    c < ' ' -> throw ParseException("control character in string", pos - 1)
                    else -> sb.append(c)
                }
            }
        }

        private fun readNumber(): Any {
            val start = pos
            if (s[pos] == '-') pos++
            var integral = true
            fun digits() {
                val d0 = pos
                while (pos < s.length && s[pos] in '0'..'9') pos++
                if (pos == d0) throw ParseException("expected a digit", pos)
            }
            if (pos < s.length && s[pos] == '0') pos++ else digits()
            if (pos < s.length && s[pos] == '.') { integral = false; pos++; digits() }
            if (pos < s.length && (s[pos] == 'e' || s[pos] == 'E')) {
                integral = false
                pos++
                if (pos < s.length && (s[pos] == '+' || s[pos] == '-')) pos++
                digits()
            }
            val token = s.substring(start, pos)
            if (integral) token.toLongOrNull()?.let { return it }
            return token.toDouble()
        }
    }

    private fun writeTo(sb: StringBuilder, value: Any?, indent: Int, level: Int) {
        fun newline(l: Int) {
            if (indent > 0) { sb.append('\n'); repeat(indent * l) { sb.append(' ') } }
        }
        when (value) {
            null -> sb.append("null")
            is Boolean -> sb.append(value)
            is Int, is Long, is Short, is Byte -> sb.append(value.toString())
            is Double, is Float -> {
                val d = (value as Number).toDouble()
                require(!d.isNaN() && !d.isInfinite()) { "JSON cannot hold $d" }
                // Double.toString always round-trips (it may print 1.0E-5, which is valid JSON).
                sb.append(if (value is Float) value.toString() else d.toString())
            }
            is String -> writeString(sb, value)
            is Map<*, *> -> {
                sb.append('{')
                var first = true
                for ((k, v) in value) {
                    if (!first) sb.append(',')
                    first = false
                    newline(level + 1)
                    writeString(sb, k.toString())
                    sb.append(if (indent > 0) ": " else ":")
                    writeTo(sb, v, indent, level + 1)
                }
                if (!first) newline(level)
                sb.append('}')
            }
            is Iterable<*> -> {
                sb.append('[')
                var first = true
                for (v in value) {
                    if (!first) sb.append(',')
                    first = false
                    newline(level + 1)
                    writeTo(sb, v, indent, level + 1)
                }
                if (!first) newline(level)
                sb.append(']')
            }
            else -> throw IllegalArgumentException("cannot write ${value::class.simpleName} as JSON")
        }
    }

    private fun writeString(sb: StringBuilder, s: String) {
        sb.append('"')
        for (c in s) {
            when (c) {
                '"' -> sb.append("\\\"")
                '\\' -> sb.append("\\\\")
                '\n' -> sb.append("\\n")
                '\r' -> sb.append("\\r")
                '\t' -> sb.append("\\t")
                else -> if (c < ' ') sb.append("\\u%04x".format(c.code)) else sb.append(c)
            }
        }
        sb.append('"')
    }
}

/** Typed access to parsed JSON with errors that name the path of the bad field. */
class JsonPath(private val value: Any?, private val path: String = "$") {
    operator fun get(key: String): JsonPath {
        val map = value as? Map<*, *> ?: throw IllegalArgumentException("$path is not an object")
        return JsonPath(map[key], "$path.$key")
    }

    operator fun get(index: Int): JsonPath {
        val list = value as? List<*> ?: throw IllegalArgumentException("$path is not an array")
        if (index !in list.indices) throw IllegalArgumentException("$path has no element $index")
        return JsonPath(list[index], "$path[$index]")
    }

    val isNull get() = value == null
    fun has(key: String) = (value as? Map<*, *>)?.containsKey(key) == true
    fun raw(): Any? = value

    fun string(): String = value as? String ?: fail("a string")
    fun stringOrNull(): String? = if (value == null) null else string()
    fun double(): Double = (value as? Number)?.toDouble() ?: fail("a number")
    fun doubleOrNull(): Double? = if (value == null) null else double()
    fun long(): Long = when (value) {
        is Long -> value
        is Double -> if (value == Math.floor(value) && !value.isInfinite()) value.toLong() else fail("an integer")
        else -> fail("an integer")
    }
    fun int(): Int = long().let { if (it in Int.MIN_VALUE..Int.MAX_VALUE) it.toInt() else fail("a 32-bit integer") }
    fun intOrNull(): Int? = if (value == null) null else int()
    fun boolean(): Boolean = value as? Boolean ?: fail("a boolean")
    fun size(): Int = (value as? List<*>)?.size ?: fail("an array")
    fun list(): List<JsonPath> = (value as? List<*>)?.mapIndexed { i, v -> JsonPath(v, "$path[$i]") } ?: fail("an array")
    fun keys(): Set<String> = (value as? Map<*, *>)?.keys?.map { it.toString() }?.toSet() ?: fail("an object")

    private fun fail(what: String): Nothing = throw IllegalArgumentException("$path should be $what, found ${describe(value)}")

    private fun describe(v: Any?) = when (v) {
        null -> "null"
        is String -> "string \"${v.take(40)}\""
        is Map<*, *> -> "an object"
        is List<*> -> "an array"
        else -> v.toString()
    }
}
