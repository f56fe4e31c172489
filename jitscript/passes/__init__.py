"""Graph passes: each module holds one pass, a function taking a Graph and changing it in place."""
