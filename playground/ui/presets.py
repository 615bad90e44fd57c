"""Presets that teach: each is a prompt plus a Settings instance that shows one thing about decoding, and a
sentence or two saying what to look at. Choosing one on the page sets every control; nothing is hidden."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playground import stages
from playground.settings import AUTO, MEDUSA, PROMPT_LOOKUP, Settings


@dataclass(frozen=True)
class Preset:
    name: str
    lesson: str  # what to look at once it has run
    prompt: str
    settings: Settings
    precision: str | None = None  # the Precision control's value, for a lesson about precision (else unchanged)


STORY = "Write a short story about a lighthouse keeper who finds a message in a bottle."
LOOP = "The best thing about the city is that the city"
SKY = "Explain in two sentences why the sky is blue."
NOTE = (
    "Correct the spelling in this sentence: Teh meeting has been moved to Thursday at 3 pm in room 204, so pleese "
    "bring the budjet slides with you."
)
COPY = (
    "Repeat this sentence exactly: The quick brown fox jumps over the lazy dog, and the lazy dog does not mind at all."
)

# llama.cpp's default chain (`--samplers`), in our names: its penalties sampler holds the repetition penalty and
# presence/frequency; typ_p is typical_p; its temperature sampler (temp-ext) is dynamic temperature when its range
# is set, our dynatemp, listed beside temperature (only one of the two is ever on). Mirostat, which llama.cpp runs
# instead of the chain, is listed last, where ours runs, so that turning it on under this order is not refused.
LLAMA_CPP_CHAIN = (
    "repetition_penalty", "presence_frequency", "dry", "top_n_sigma", "top_k", "typical_p", "top_p", "min_p", "xtc",
    "dynatemp", "temperature", "mirostat",
)  # fmt: skip


# Long contexts of our own writing, each ending with a question its text answers (the compression lesson's).
CONTEXTS = Path(__file__).resolve().parents[2] / "assets" / "contexts"
COMPRESS_LESSON = "Compressing a long context: where the answer changes"
LENS_LESSON = "The logit lens: at which layer the model knows"
CAPITAL = "The capital of France is"


def long_context(name: str) -> str:
    """One of assets/contexts/'s prompts: a few paragraphs of prose, then a question on its last line."""
    return (CONTEXTS / f"{name}.txt").read_text(encoding="utf-8").strip()


MIROSTAT_LESSON = "Mirostat holds the surprise near tau"

GLTR_LESSON = "GLTR colours: the model's own text ranks high, a person's does not"
GOAT = "My aunt keeps a goat called Professor in her kitchen, and every Tuesday he eats exactly one of her left socks."

DRY_LESSON = "DRY stops a loop that the repetition penalty only slows"
PROBE_LESSON = "The token probe: a word the sampler never showed"
YES_NO = "Answer yes or no: is the sky green?"
ENTROPY_LESSON = "The entropy map: where the model is sure, and where it forks"
FOX = "Repeat this sentence exactly: The quick brown fox jumps over the lazy dog."
CHANT = (
    "Row, row, row your boat, gently down the stream. Merrily, merrily, merrily, merrily, life is but a dream. "
    "Row, row, row your boat,"
)
FORK_LESSON = "Where does the answer fork? One token decides a yes or a no"
DIVISIBLE = "Answer yes or no: is 51 divisible by 3?"
MIROSTAT_BAND = 0.5  # bits: the run's mean surprise lies this close to tau (tests/ui/test_preset_mirostat.py)


def llama_cpp_order() -> tuple[str, ...]:
    """llama.cpp's chain for the stages this registry has, in llama.cpp's order."""
    return tuple(name for name in LLAMA_CPP_CHAIN if name in stages.BY_NAME)


def speculative(base: Settings, **changes) -> Settings:
    """A speculative-decoding lesson's settings: 48 tokens, with the speed-up over plain decoding measured in the
    same run (whether a draft pays off depends on the machine, so every such lesson shows it)."""
    return base.replace(**{"strategy": "speculative", "max_new_tokens": 48, "measure_speedup": True, **changes})


def presets() -> list[Preset]:
    """The presets, in the order a lesson would take them. Built on call, so the server's limits apply."""
    base = Settings.within().replace(chat=True)  # the page's Chat/Raw switch has no "auto"
    mirostat_tokens = min(80, base.max_new_tokens)  # the mirostat lesson's run, whose text quotes its length
    return [
        Preset(
            "Greedy loops and repeats",
            "Greedy always takes the most likely token, so once a phrase repeats, repeating it again becomes "
            "the most likely thing to do. Look at the overview: the chosen token's probability climbs as the loop "
            "sets in. Then raise Repetition penalty to 1.3 and run again.",
            LOOP,
            base.replace(strategy="greedy", chat=False, max_new_tokens=min(60, base.max_new_tokens)),
        ),
        Preset(
            "High temperature turns to noise",
            "Temperature 1.8 flattens the distribution, and with top-k and top-p off nothing removes the long "
            "tail, so unlikely tokens are drawn again and again. The text is shaded dark where an unlikely token "
            "won; compare the 'raw' and 'after temperature' bars of any step.",
            STORY,
            base.replace(strategy="sample", temperature=1.8, top_k=0, top_p=1.0, seed=1, max_new_tokens=48),
        ),
        Preset(
            "Top-p adapts where top-k cannot",
            "Top-p 0.9 keeps the smallest set of tokens holding 90% of the probability: one or two tokens where "
            "the model is sure, dozens where it is not. Step through the Token distributions tab and watch how "
            "many tokens are left (the step's title counts them); top-k would keep the same count at every step.",
            STORY,
            base.replace(strategy="sample", temperature=1.0, top_k=0, top_p=0.9, seed=3, max_new_tokens=48),
        ),
        Preset(
            "llama.cpp order: temperature last",
            "llama.cpp runs the penalties, then top-k, typical-p, top-p and min-p, and temperature last; "
            "transformers divides by the temperature first. Here the filters judge the model's own probabilities, "
            "so they keep the same tokens whatever the temperature, and temperature 1.5 only flattens what they "
            "kept: the step view draws the stages in the order they ran. Then clear Sampler order (transformers' "
            "order) and run again: min-p now sees the flattened distribution and lets more tokens through (the "
            "step's title counts them).",
            STORY,
            base.replace(
                strategy="sample",
                sampler_order=llama_cpp_order(),
                temperature=1.5,
                top_k=40,
                top_p=0.95,
                min_p=0.05,
                seed=2,
                max_new_tokens=48,
            ),
        ),
        Preset(
            "Top-nσ does not care about temperature",
            "Top-nσ keeps the tokens whose score lies within n standard deviations of the top score. Both the gap "
            "to the top and the deviation are divided by the temperature alike, so the tokens it keeps are the "
            "same at any temperature: here it runs first (Temperature last is on), and the step title counts the "
            "tokens left. Generate: this is A. Then set Temperature to 0.5 and press Compare in the Compare tab: B "
            "reads A's text, so at every step both answer the same question, and B keeps the tokens A kept. The "
            "line says the most likely tokens agree at 100% of steps and names no infinite KL (B rules out no "
            "token A could take); only the probabilities move.",
            STORY,
            base.replace(
                strategy="sample",
                temperature=1.5,
                temperature_last=True,
                top_n_sigma=1.0,
                top_k=0,
                top_p=1.0,
                seed=4,
                max_new_tokens=48,
            ),
        ),
        Preset(
            "Beam search prefers short, safe text",
            "Beam search keeps the most probable sequences. It ranks them by log-probability divided by "
            "length to the power Length penalty; at 0.5 every extra token still costs, so the short finished "
            "answer wins: in the Beam tree its thick green path ends at a star after a few steps, while other "
            "beams run on. Raise Length penalty to 2 and run again: long sequences are favoured now, and a long "
            "run of likely tokens, even a loop, takes first place.",
            "What is the capital of France?",
            base.replace(
                strategy="beam",
                num_beams=min(6, base.limits.max_beams),
                num_return_sequences=3,
                length_penalty=0.5,
                max_new_tokens=min(40, base.max_new_tokens),
            ),
        ),
        Preset(
            "A forced word",
            "Constrained beam search must use the word 'umbrella'. Beams are grouped by how much of the "
            "constraint they have met (their bank), so a beam that starts the word early is not crowded out. "
            "In the Beam tree, colour shows the bank and outlined nodes advanced the constraint.",
            "Describe a rainy morning in one sentence.",
            base.replace(
                strategy="constrained",
                num_beams=min(4, base.limits.max_beams),
                force_words=("umbrella",),
                max_new_tokens=min(40, base.max_new_tokens),
            ),
        ),
        Preset(
            "Speculative decoding with a cheap draft",
            "Medusa heads are small layers on the target's last hidden state that guess the next few tokens, so "
            "drafting costs no model pass. The target checks a tree of 8 guesses in one pass and keeps the "
            "longest path it agrees with, plus a token of its own: the status line gives the tokens per target "
            "pass, and the Draft acceptance tab draws each round's tree (move the Round slider). Whether this is "
            "faster depends on the machine: it pays off only where a pass over 9 tokens costs about as much as "
            "a pass over one, and the tab shows the speed-up measured here, which can be below 1x. At 4-bit the "
            "text can part from greedy decoding's at a near-tie, as 4-bit kernels round a pass over several "
            "tokens a little differently from a pass over one.",
            SKY,
            speculative(base, draft_model=MEDUSA, tree_size=8),
        ),
        Preset(
            "Speculative decoding with an accurate but costly draft",
            "The draft here is the target's own weights at bf16. It agrees with the 4-bit target on most of the "
            "tokens the target checks (not all: the two precisions round differently, and a round ends at its "
            "first disagreement, so the share of all drafted tokens kept is lower: the Draft acceptance title "
            "gives both), so a target pass often yields two or more tokens, "
            "and the text is the same as greedy decoding's. But this draft costs about as much as the target, "
            "so it pays off only where bf16 runs much faster than the target's precision, which depends on the "
            "machine: the Draft acceptance tab shows the speed-up measured here, often below 1x.",
            STORY,
            speculative(base, draft_model=None, draft_precision="bf16", num_draft_tokens=4),
        ),
        Preset(
            "Speculative decoding with a poor draft",
            "Prompt lookup guesses the next tokens by copying what followed the same words earlier: in the text "
            "so far, or in the prompt, which with the chat template holds its markers and a system prompt you "
            'did not type (open "What the model reads"). A story repeats little of its prompt, so most guesses '
            "are rejected (red; the ones after a rejection are never checked) and each target pass yields about "
            "one token, and checking the rejected guesses costs a little: the Draft acceptance tab shows where "
            "each draft was found and the speed-up measured here. Try the next preset, where the output copies "
            "the prompt.",
            STORY,
            speculative(base, draft_model=PROMPT_LOOKUP, num_draft_tokens=4),
        ),
        Preset(
            "Prompt lookup when the text repeats",
            "Here the answer copies a sentence of the prompt, and while it copies, prompt lookup's guesses are "
            "right several tokens at a time (once the copy ends, they are mostly wrong again). Look at the "
            "accepted lengths in the Draft acceptance tab, the row under each round that says the draft was "
            "found in your prompt, and the tokens per target pass in the status line. Its "
            "guesses cost no model pass, so where the text repeats it can beat plain decoding; the tab shows the "
            "speed-up measured here.",
            COPY,
            speculative(base, draft_model=PROMPT_LOOKUP, num_draft_tokens=8, max_new_tokens=40),
        ),
        Preset(
            "Speculative decoding that picks its draft",
            "The automatic draft chooses each round's guesses among the drafts that cost no model pass: a copy of "
            "earlier text (prompt lookup), a continuation found in an index of the model's own answers to other "
            "prompts, or the Medusa heads. It sizes each round by what a pass over k tokens costs on this machine, "
            "measured when the run starts: the Draft acceptance tab draws that cost curve and marks each round "
            "with the draft that made it, or as a plain step where no draft was expected to pay for its pass. "
            "Here the answer copies most of the sentence from the prompt, and the words around it are the model's "
            "habits. "
            "Whether it is faster depends on the machine: the tab shows the speed-up measured here.",
            NOTE,
            speculative(base, draft_model=AUTO, max_new_tokens=64),
        ),
        Preset(
            "What if it had said something else?",
            "Generate, then click a dark token, one the model was unsure of: its card lists the tokens it beat. "
            "Choose one and the run continues from there with your token (outlined) after the faded text it "
            "kept. The Runs tab draws both runs as a tree; click a node to bring a run back and branch again.",
            STORY,
            base.replace(strategy="greedy", max_new_tokens=min(40, base.max_new_tokens)),
        ),
        Preset(
            "What temperature changes, step by step",
            "Generate, and look under Token distributions at the same step at other temperatures: dividing the "
            "logits by T never reorders the tokens, so the top token is the same in every column, only how far it "
            "leads changes (move the Step slider). This greedy run is A. Then choose Sampling, set Temperature to "
            "1.5 and Top-k to 0, and press Compare in the Compare tab: B reads A's text, so at every step both "
            "answer the same question. "
            "The curve is how far temperature 1.5 moves each step's distribution, and B's own text shows where "
            "it would have gone another way. Then set Top-k back to 50: it rules out every token past the 50th, "
            "which A could take, so KL becomes infinite (drawn at the top, and the line names a token top-k 50 "
            "removed) while Jensen-Shannon stays finite. Temperature alone, even 0.3, rules nothing out.",
            SKY,
            base.replace(strategy="greedy", max_new_tokens=min(32, base.max_new_tokens)),
        ),
        Preset(
            "The quantization lens: 4-bit against full precision",
            "Generate at nf4 (4-bit): this is A. Then set Precision to fp32 and press Compare in the Compare tab: "
            "the full-precision model reads A's text, and the curve shows at which steps 4-bit rounding moved "
            "the distribution, the texts where greedy decoding at each precision parts ways. Try int8 or bf16 "
            "as A: the gap shrinks (the README's table measures it on 24 prompts).",
            SKY,
            base.replace(strategy="greedy", max_new_tokens=min(32, base.max_new_tokens)),
            precision="nf4",
        ),
        Preset(
            "XTC: creative by excluding the obvious",
            "XTC (exclude top choices) flips a coin at every step, here with probability 0.5; when it fires and "
            "two or more tokens reach the threshold of 10%, it removes all of them but the least likely, so the "
            "text leaves the obvious path while staying among tokens the model finds likely. The overview marks "
            "the steps where it excluded tokens: at each of them the step view says what XTC excluded (its bars "
            "marked ✂ XTC), and the token taken is not the model's first choice. Set XTC to 0 and run again with "
            "the same seed to read the obvious version: XTC's coin has a generator of its own, so the two texts "
            "are the same until they part at one of the marked steps.",
            STORY,
            base.replace(
                strategy="sample",
                xtc_probability=0.5,
                xtc_threshold=0.1,
                top_k=0,
                min_p=0.05,
                seed=1,
                max_new_tokens=48,
            ),
        ),
        Preset(
            MIROSTAT_LESSON,
            "Mirostat 2 aims each token's surprise (−log2 p, in bits, under the model's own distribution here: "
            "the other filters are off) at tau = 2 bits. It cuts the tokens more surprising than a limit mu, and "
            "after every draw moves mu by eta × (surprise − tau): down after a surprising token, up after a dull "
            f"one. The overview draws mu and each chosen token's surprise: over these {mirostat_tokens} tokens the "
            f"surprise averages within {MIROSTAT_BAND} bit of tau, while mu climbs from 2 × tau to where its cut "
            "holds that average. Open a step: its subtitle says mu, how many tokens the cut kept, and where the token "
            "moved mu. llama.cpp runs mirostat instead of the other samplers; here it runs after them, last.",
            STORY,
            base.replace(
                strategy="sample",
                mirostat=2,
                mirostat_tau=2.0,
                mirostat_eta=0.1,
                top_k=0,
                top_p=1.0,
                temperature=1.0,
                seed=0,
                max_new_tokens=mirostat_tokens,
            ),
        ),
        Preset(
            DRY_LESSON,
            "DRY pushes a token down by the length L of the earlier span it would repeat, more the longer the span "
            "(here 0.8 × 1.75^(L − 2) off its logit from L = 2 on). Open step 1: the model's first choice, ' gently', "
            "would repeat '… row, row your boat, gently' from the prompt with L = 7, so DRY takes another way; over "
            "these 160 tokens no token extends a repeat beyond 5 tokens and no loop sets in. Set DRY to 0 and "
            "Generate: greedy decoding sings the chant on and from step 33 repeats a stanza of 36 tokens to the "
            "end. Set Repetition penalty to 1.1, a value people use, and Generate again: the penalty pushes down "
            "every token already in the text alike, so the model writes new sentences for longer, variations on "
            "'She will not be swayed by those who would …', but once a sentence's words are all used the penalty "
            "no longer tells them apart, and from step 88 it repeats a span of 14 tokens to the end, five times "
            "over. The loop came later; it did not stop. (1.2 ends this one too, by pushing down every word already "
            "used, the prompt's included.) Set at fp32, where these steps are the same on any CPU.",
            CHANT,
            base.replace(
                strategy="greedy",
                chat=False,
                dry_multiplier=0.8,
                max_new_tokens=min(160, base.limits.max_new_tokens),
            ),
            precision="fp32",
        ),
        Preset(
            COMPRESS_LESSON,
            'A long context that ends with a question. Open the "Compress the prompt" tab and press Compress at '
            "the keep ratio 0.5: the struck-through tokens are those the model found easiest to guess (look at "
            "which kinds of word they are), and the question, the last sentence, is kept whole. Compare the two "
            "answers and the KL curve: where does the compressed prompt's answer leave the original's, and do the "
            "names and numbers the question asks for survive? Then set the ratio to 0.25 and press Compress again, "
            "and look at whether those facts are still there. Type a name or number under Never drop to keep it. "
            "Two more contexts to try are in assets/contexts/.",
            long_context("lighthouse"),
            base.replace(strategy="greedy", max_new_tokens=min(48, base.max_new_tokens)),
        ),
        Preset(
            LENS_LESSON,
            'Greedy decoding answers the prompt with " Paris". Open the "Logit lens" tab at step 1: each row is what '
            "the model would say if it stopped after that layer, decoded through its own final norm and head. The "
            'line above the heatmap names the first layer where " Paris" is the top token: in a model this small '
            "that is one of the last few layers, so follow its rank in the middle plot as it climbs from far down "
            "the vocabulary, and KL(layer ‖ final) as it falls to zero at the top. Then move the step and see "
            "which tokens are settled early (punctuation, a repeated word) and which only at the end. Set at fp32, "
            "where these layers are the same on any CPU.",
            CAPITAL,
            base.replace(strategy="greedy", chat=False, max_new_tokens=min(8, base.max_new_tokens)),
            precision="fp32",
        ),
        Preset(
            PROBE_LESSON,
            "Greedy decoding answers 'No'. Open the Token probe tab, untick After a space (an answer's first word "
            "follows the template's new line, not a space) and probe Maybe: at step 1 it is none of the 20 "
            "candidates the step keeps, so no view of the run shows it, yet the probe gives its probability over "
            "the whole vocabulary and its rank, in the hundreds. Tick After a space and probe again: ' Maybe' is "
            "another token, far less likely there. Probe Blueberry: two tokens, and the red line is the chance of "
            "the whole word at each step. Set at fp32, where these numbers are the same on any CPU.",
            YES_NO,
            base.replace(strategy="greedy", max_new_tokens=6),
            precision="fp32",
        ),
        Preset(
            ENTROPY_LESSON,
            "Open the Entropy map tab. The words copied once the model has started the sentence (' lazy', ' dog') "
            "sit bottom left, low entropy and low varentropy: the model is sure. Step 1 sits high up at low entropy: "
            "a fork, a few strong openings against a long tail (LEHV); and some step lies in the top right, unsure "
            "in every way (HEHV). Click step 1's point to open it in Token distributions and see the openings it "
            "chose between. Set at fp32, where these steps are the same on any CPU.",
            FOX,
            base.replace(strategy="greedy", max_new_tokens=16),
            precision="fp32",
        ),
        Preset(
            FORK_LESSON,
            "Greedy decoding answers 'No', which is wrong: 51 is 3 × 17. Open the \"Where does the answer fork?\" "
            "tab (its auto rule reads the first word of a yes-or-no question), set Continuation length to 4 (the "
            "first word needs no more, and it runs six times faster) and press Run the forking analysis. "
            "At step 1 the bars are mixed: continuations after 'No' say no, but those after 'Yes' (the model's "
            "second choice, about one chance in four) say yes, so o_t gives yes a large share. At step 2, after 'No', "
            "every continuation says no: the change point is marked there, so the first token decided the answer. "
            "Click step 1's bar to read its branches and their samples. Set at fp32, where these samples "
            "are the same on any CPU.",
            DIVISIBLE,
            base.replace(strategy="greedy", max_new_tokens=6),
            precision="fp32",
        ),
        Preset(
            GLTR_LESSON,
            'A sentence a person wrote, continued by the model sampling from its whole distribution. Set "Colour '
            "by\" to GLTR rank: most of the model's tokens are green, among its top 10 guesses, as GLTR (Gehrmann "
            'et al. 2019) found of machine text. Then open "What the model reads" and press Colour the prompt: '
            "the sentence you gave it has far fewer green tokens and more yellow and vermillion ones (a "
            "goat called Professor is hard to guess). Surprisal shows the same in bits. Sampling at temperature 1 "
            "still draws mostly from the top of the ranking; raise the temperature and look at how the model's own "
            "text's colours move. Set at fp32, where the ranks are the same on any CPU.",
            GOAT,
            base.replace(
                strategy="sample",
                chat=False,
                seed=2,
                temperature=1.0,
                top_k=0,
                top_p=1.0,
                max_new_tokens=min(48, base.max_new_tokens),
            ),
            precision="fp32",
        ),
    ]
