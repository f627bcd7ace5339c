package dev.mininet.demo.core

import org.junit.Assert.assertEquals
import org.junit.Test

class MaskOpsTest {
    /** '#' lesion, '.' background. */
    private fun mask(vararg rows: String): Mask {
        val m = Mask(rows[0].length, rows.size)
        for (y in rows.indices) for (x in rows[y].indices) m[x, y] = rows[y][x] == '#'
        return m
    }

    private fun rows(m: Mask) = (0 until m.height).map { y -> (0 until m.width).joinToString("") { x -> if (m[x, y]) "#" else "." } }

    @Test
    fun largestComponentUsesEightConnectivity() {
        val m = mask(
            "##....",
            "..#...",
            "...#.#",
            ".....#",
        )
        // The diagonal chain (4 pixels) beats the 2-pixel column on the right.
        assertEquals(listOf("##....", "..#...", "...#..", "......"), rows(MaskOps.largestComponent(m)))
    }

    @Test
    fun largestComponentTieGoesToTheFirstInRasterOrder() {
        val m = mask("#..#", "#..#")
        assertEquals(listOf("#...", "#..."), rows(MaskOps.largestComponent(m)))
    }

    @Test
    fun emptyMaskStaysEmpty() {
        val m = Mask(3, 2)
        assertEquals(m, MaskOps.largestComponent(m))
        assertEquals(m, MaskOps.fillHoles(m))
    }

    @Test
    fun fillsEnclosedHolesOnly() {
        val m = mask(
            "#####..",
            "#...#..",
            "#.#.#..",
            "#####..",
            "..#.#..",
            "..#.#..",
        )
        // The bay between the legs reaches the bottom border: not a hole; the ring interior is.
        assertEquals(
            listOf("#####..", "#####..", "#####..", "#####..", "..#.#..", "..#.#.."),
            rows(MaskOps.fillHoles(m)),
        )
    }

    @Test
    fun diagonalGapDoesNotDrainAHole() {
        // Background is 4-connected: the centre touches the outside only diagonally, so it is a hole.
        val m = mask(
            ".#...",
            "#.#..",
            ".#...",
        )
        assertEquals(listOf(".#...", "###..", ".#..."), rows(MaskOps.fillHoles(m)))
    }

    @Test
    fun optionsApplyLargestThenHoles() {
        val m = mask(
            "#####.#",
            "#...#..",
            "#####..",
        )
        val out = ResizeBackPostprocessor.finish(m, PostprocessOptions(0.5, largestComponent = true, fillHoles = true))
        assertEquals(listOf("#####..", "#####..", "#####.."), rows(out))
    }
}
