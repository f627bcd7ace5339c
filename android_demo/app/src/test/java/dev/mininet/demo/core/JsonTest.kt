package dev.mininet.demo.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class JsonTest {
    @Test
    fun parsesNestedValuesWithTypes() {
        val v = Json.parseObject("""{"a": [1, -2.5, 3e2, true, false, null], "b": {"c": "x\"y\\z\u00e9\n"}, "d": 0}""")
        assertEquals(listOf(1L, -2.5, 300.0, true, false, null), v["a"])
        assertEquals("x\"y\\zé\n", (v["b"] as Map<*, *>)["c"])
        assertEquals(0L, v["d"])
        assertEquals(listOf("a", "b", "d"), v.keys.toList())
    }

    @Test
    fun rejectsMalformedInput() {
        for (bad in listOf("{", "[1,]", "{\"a\" 1}", "{\"a\": 1} x", "01", "\"abc", "tru", "{\"a\": -}", "[1 2]", "\"\\q\"")) {
            try {
                Json.parse(bad)
                fail("accepted $bad")
            } catch (e: Json.ParseException) {
                assertTrue(e.message!!.contains("offset"))
            }
        }
    }

    @Test
    fun writeThenParseRoundTripsDoublesExactly() {
        val values = listOf(0.1, 1.0 / 3.0, 1e-300, 123456789.123, -0.0078125, Math.PI, 4.9e-324)
        val text = Json.write(linkedMapOf("v" to values, "s" to "tab\tquote\"", "n" to null, "i" to 7), indent = 2)
        val back = JsonPath(Json.parse(text))
        assertEquals(values, back["v"].list().map { it.double() })
        assertEquals("tab\tquote\"", back["s"].string())
        assertTrue(back["n"].isNull)
        assertEquals(7, back["i"].int())
    }

    @Test
    fun jsonPathErrorsNameTheField() {
        val p = JsonPath(Json.parse("""{"input": {"shape": "oops"}}"""))
        try {
            p["input"]["shape"].list()
            fail()
        } catch (e: IllegalArgumentException) {
            assertEquals("\$.input.shape should be an array, found string \"oops\"", e.message)
        }
        assertNull(p["missing"].stringOrNull())
    }

    @Test(expected = Json.ParseException::class)
    fun depthIsBounded() {
        Json.parse("[".repeat(100) + "]".repeat(100))
    }
}
