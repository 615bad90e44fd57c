"""Numbers in words, as every line and title of the page reads them."""


def counted(n: int, noun: str) -> str:
    """ "1 candidate", "3 candidates"."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def ordinal(n: int) -> str:
    """ "1st", "2nd", "3rd", "4th", "11th", "21st"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
