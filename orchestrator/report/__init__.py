"""The offline HTML report of verify and race runs."""
