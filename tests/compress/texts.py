"""Prompts of our own writing for the compression checks: a context, then a question."""

LIGHTHOUSE = (
    "The lighthouse on Marrow Island was built in 1871 from granite quarried on the mainland and carried across "
    "by barge, four blocks at a time. Its first keeper, Elias Brandt, kept a log for forty-two years; every night "
    "he wrote the same line before the weather: the lamp is lit, the glass is clean, the ships are safe. In the "
    "winter of 1903 a storm broke the lantern room's windows and Brandt held a sheet of canvas over the lamp until "
    "dawn, so the light never went out. The log for that night reads only: the lamp is lit. The island was "
    "abandoned in 1958, when an automatic beacon replaced the keepers, and the log now sits in the harbour museum "
    "at Kessick, open at the page of the storm.\n"
    "On which page is the keeper's log open in the museum?"
)

RECIPE = (
    "To make the bread, mix 500 grams of flour, 350 grams of water, 10 grams of salt and 4 grams of dried yeast "
    "in a large bowl until no dry flour is left. Cover the bowl and leave it for thirty minutes, then fold the "
    "dough over itself four times, once every half hour. After the last fold, let it rise until it has doubled, "
    "which takes about two hours in a warm kitchen and up to four in a cold one. Shape it into a tight round, "
    "put it seam side up in a floured basket, and keep it in the fridge overnight. In the morning, heat the oven "
    "to 250 degrees with a covered pot inside, turn the dough into the pot, score the top, and bake it covered "
    "for twenty minutes, then uncovered for twenty-five more.\n"
    "How long does the bread bake in total?"
)

LEDGER = (
    "Ledger of the Pell Street workshop, week 14. Monday: repaired three clocks for Mrs. Okafor, paid 45 shillings. "
    "Tuesday: the lathe's belt snapped and was replaced; the new belt cost 12 shillings and took the whole "
    "afternoon. Wednesday: delivered the long-case clock to the vicarage, paid 120 shillings, of which 20 went "
    "to the carter. Thursday: no customers; cleaned the tools and sorted the brass screws by size. Friday: a man "
    "who would not give his name asked for the price of the astronomical clock in the window and left without "
    "buying. Saturday: sold two pocket watches for 30 shillings each.\n"
    "How many shillings came in during the week, before the carter was paid?"
)

PROMPTS = [LIGHTHOUSE, RECIPE, LEDGER]
