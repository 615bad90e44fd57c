"""What must fit on the page: a preset's whole name in its dropdown, and a token's card clear of the hover card."""

from playwright.sync_api import Page, expect

from playground.ui.presets import presets
from tests.browser.test_page import ask, browser, page, shot  # noqa: F401

# The preset box's input and the box of its arrow icon, in page pixels; the input's text width and width.
PRESET_BOX = """(input) => {
  const arrow = input.closest('.wrap').querySelector('.icon-wrap, svg');
  const rect = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const style = getComputedStyle(input);
  const canvas = document.createElement('canvas').getContext('2d');
  canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const text = canvas.measureText(input.value).width;
  const start = input.getBoundingClientRect().left + parseFloat(style.paddingLeft);
  return {value: input.value, scroll: input.scrollWidth, client: input.clientWidth, textEnd: start + text,
          input: rect(input), arrow: arrow ? rect(arrow) : null};
}"""

# The hover card (the hovered token's ::after) as [left, top, right, bottom] in page pixels, or null when none
# shows; the pinned token card's box, or null when none is open.
CARDS = """() => {
  const token = [...document.querySelectorAll('#output .tokens .tok')].find((t) => t.matches(':hover'));
  let hover = null;
  if (token) {
    const style = getComputedStyle(token, '::after');
    if (style.display !== 'none' && style.content !== 'none' && style.visibility !== 'hidden') {
      const r = token.getBoundingClientRect();
      const left = r.left + parseFloat(style.left), top = r.top + parseFloat(style.top);
      hover = [left, top, left + parseFloat(style.width) + parseFloat(style.paddingLeft) +
               parseFloat(style.paddingRight), top + parseFloat(style.height) + parseFloat(style.paddingTop) +
               parseFloat(style.paddingBottom)];
    }
  }
  const card = document.querySelector('#output .take-card');
  const box = card && card.getBoundingClientRect();
  return {hovered: !!token, hover, card: box && [box.left, box.top, box.right, box.bottom]};
}"""


def intersect(a, b) -> bool:
    """Whether two [left, top, right, bottom] boxes overlap."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_the_preset_box_shows_the_whole_of_the_longest_name(page: Page):  # noqa: F811
    longest = max((preset.name for preset in presets()), key=len)
    page.get_by_label("Preset").click()
    page.get_by_role("option", name=longest).click()
    expect(page.locator("#lesson")).to_be_visible()
    box = page.get_by_label("Preset").evaluate(PRESET_BOX)
    shot(page, "preset-longest-name")
    assert box["value"] == longest
    assert box["scroll"] <= box["client"], box  # the input does not scroll its text
    assert box["arrow"] is None or box["textEnd"] <= box["arrow"][0], box  # nor does the text run under the arrow


def test_a_tokens_card_and_the_hover_card_do_not_overlap(page: Page):  # noqa: F811
    ask(page, "Name a colour.", 6)
    token = page.locator("#output .tokens .tok").nth(1)
    token.hover()
    expect(page.locator("#output .take-card")).to_have_count(0)
    token.click()  # the pointer stays on the token, as a person's does after a click
    expect(page.locator("#output .take-card")).to_be_visible()
    page.wait_for_timeout(300)
    cards = page.evaluate(CARDS)
    shot(page, "token-card-and-hover")
    assert cards["hovered"], cards
    assert cards["hover"] is None or not intersect(cards["hover"], cards["card"]), cards
    page.keyboard.press("Escape")  # the card closes; the token under the pointer shows its hover card again
    expect(page.locator("#output .take-card")).to_have_count(0)
    assert page.evaluate(CARDS)["hover"] is not None
