"""The colours every figure draws with: Okabe-Ito, a palette readable with every common colour-vision deficiency,
then a few from Paul Tol's colour-blind-safe palettes for what the first eight do not cover. Plain hex strings, so
the stage registry (which gives each stage its colour) needs nothing from the plotting layer."""

BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
VERMILLION = "#D55E00"
SKY = "#56B4E9"
PURPLE = "#CC79A7"
YELLOW = "#F0E442"
GREY = "#999999"
BLACK = "#000000"
INDIGO = "#332288"  # Paul Tol
WINE = "#882255"  # Paul Tol
OLIVE = "#999933"  # Paul Tol
TEAL = "#44AA99"  # Paul Tol
ROSE = "#CC6677"  # Paul Tol
SAND = "#DDCC77"  # Paul Tol
MAGENTA = "#AA4499"  # Paul Tol
CYAN = "#88CCEE"  # Paul Tol
PINE = "#117733"  # Paul Tol
CORAL = "#EE8866"  # Paul Tol (light scheme)
