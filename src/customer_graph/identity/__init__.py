"""Who is who across providers: the crosswalk, match rules, linking on lookup, and survivorship."""
