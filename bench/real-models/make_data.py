#!/usr/bin/python3
"""Renders the real-models bench's inputs: lines and pages of real English text (the Vim user
manual, Debian's vim-runtime) drawn with PIL in several Debian font families, sizes, ink and
paper shades, with slight blur and noise, then preprocessed exactly as PaddleOCR feeds its
models, so the .npy files go straight into the models and into `reducible compress --calibration`.

Deterministic: every random choice comes from one seeded generator per set. Calibration and
test text are disjoint by construction: they come from different chapters of the manual.

Out (under work/data/, git-ignored):
  rec/{calib,test}.npy   float32 [N,3,48,320]   rec/test.txt: the test lines' text, one a line
  cls/{calib,test}.npy   float32 [N,3,48,192]   cls/test.txt: 0 (upright) or 1 (turned 180°) per line
  det/calib.npy          float32 [300,3,320,320]
  det/test.npy           float32 [100,3,640,640] det/test.json: per page, its lines' [x0,y0,x1,y1] boxes
  wake/{calib,test}_audio.npy  float32 [N,48000]: 3 s clips at 16 kHz on the int16 scale openWakeWord
                         takes, spoken by espeak-ng: a wake word ("hey jarvis", "alexa", "hey mycroft")
                         or a manual line; wake/test.txt: each test clip's label (the word's model, or none).
                         speechFeatures.ts (run at the end) turns them into the embedding model's inputs.
  pitch/{calib,test}.npy float32 [N,43844,1]: Basic Pitch's windows of synthesised notes and chords,
                         pitch/test.json: each test clip's notes (make_music.py)

Run: /usr/bin/python3 bench/real-models/make_data.py [ocr] [wake] [music]   (after setup.sh and fetch.sh; a minute or two)
"""
import glob
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from make_music import music_sets

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'work', 'data')
KEYS = os.path.join(HERE, 'work', 'ocr-models', 'assets', 'ppocr_keys_v1.txt')

# Chapters 1-29 give calibration text, 30 onwards test text: disjoint text, not only disjoint lines.
CALIB_CHAPTERS = range(1, 30)
REC_WIDTH, CLS_WIDTH, HEIGHT = 320, 192, 48
# A 320-wide input has 40 CTC time steps; lines longer than 28 characters get squeezed
# past what the model reads reliably (checked on the original model: see RESULTS.md's notes).
MIN_CHARS, MAX_CHARS = 10, 28
FONTS = sorted(f for d in ('dejavu', 'liberation', 'freefont') for f in glob.glob(f'/usr/share/fonts/truetype/{d}/*.ttf')
               if 'Math' not in f and 'ExtraLight' not in f)


def die(msg):
    print(f'make_data: {msg}', file=sys.stderr)
    sys.exit(1)


def manual_lines(chapters, alphabet):
    """Prose-like lines of the manual's chapters, help markup stripped, that the model's alphabet can spell."""
    files = sorted(glob.glob('/usr/share/vim/vim*/doc/usr_*.txt'))
    if not files:
        die('no Vim user manual in /usr/share/vim/vim*/doc (run bench/real-models/setup.sh)')
    seen, lines = set(), []
    for f in files:
        m = re.search(r'usr_(\d+)\.txt$', f)
        if not m or int(m.group(1)) not in chapters:
            continue
        for raw in open(f, encoding='utf-8', errors='replace'):
            # `>` ends a line that introduces an example; *tags* and |links| are help markup.
            text = re.sub(r'\s+', ' ', re.sub(r'\s>$', '', raw.rstrip())).strip()
            if not (MIN_CHARS <= len(text) <= MAX_CHARS) or text in seen:
                continue
            if not all(c == ' ' or c in alphabet for c in text) or re.search(r'[*|]\S+[*|]', text):
                continue
            if sum(c.isalpha() for c in text) < 0.6 * len(text):
                continue
            seen.add(text)
            lines.append(text)
    return lines


def style(rng):
    """A font, ink and paper for one line or page."""
    paper = rng.randint(200, 255)
    tint = [max(0, min(255, paper + rng.randint(-12, 12))) for _ in range(3)]
    ink_level = rng.randint(0, 80)
    ink = tuple(max(0, min(255, ink_level + rng.randint(-20, 20))) for _ in range(3))
    return FONTS[rng.randrange(len(FONTS))], tuple(tint), ink


def degrade(img, rng, nrng):
    """Slight blur and sensor noise, as a photo or scan of print has."""
    radius = rng.uniform(0, 0.9)
    if radius > 0.2:
        img = img.filter(ImageFilter.GaussianBlur(radius))
    a = np.asarray(img, dtype=np.float32)
    a = a + nrng.normal(0, rng.uniform(0, 8), a.shape)
    return np.clip(a, 0, 255)


def render_line(text, rng, nrng):
    """A tight crop of one printed line, HWC RGB float 0..255."""
    font_file, paper, ink = style(rng)
    font = ImageFont.truetype(font_file, rng.randint(22, 40))
    x0, y0, x1, y1 = font.getbbox(text)
    px, py = rng.randint(2, 12), rng.randint(2, 8)
    img = Image.new('RGB', (x1 - x0 + 2 * px, y1 - y0 + 2 * py), paper)
    ImageDraw.Draw(img).text((px - x0, py - y0), text, font=font, fill=ink)
    return degrade(img, rng, nrng)


def to_bgr_chw(a):
    # PaddleOCR reads images with cv2, i.e. BGR; its models are trained on that channel order.
    return a[:, :, ::-1].transpose(2, 0, 1)


def resize_norm(a, width):
    """PaddleOCR's resize_norm_img (rec and cls): height 48 keeping aspect, width at most `width`
    (longer lines are squeezed), (x/255-0.5)/0.5, right-padded with zeros."""
    h, w = a.shape[:2]
    rw = min(width, int(math.ceil(HEIGHT * w / h)))
    img = Image.fromarray(a.astype(np.uint8)).resize((rw, HEIGHT), Image.BILINEAR)
    x = np.zeros((3, HEIGHT, width), np.float32)
    x[:, :, :rw] = (to_bgr_chw(np.asarray(img, np.float32)) / 255 - 0.5) / 0.5
    return x


def det_norm(a, order):
    """PaddleOCR's det NormalizeImage: x/255, minus ImageNet mean, over std, in the given channel order."""
    mean, std = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)
    chans = a[:, :, ::-1] if order == 'bgr' else a
    return ((chans / 255 - mean) / std).transpose(2, 0, 1).astype(np.float32)


def render_page(size, lines, rng, nrng):
    """A page of printed lines top to bottom at varied sizes and indents; returns pixels and the lines' boxes."""
    font_file, paper, ink = style(rng)
    img = Image.new('RGB', (size, size), paper)
    draw = ImageDraw.Draw(img)
    boxes, y = [], rng.randint(4, size // 10)
    scale = size / 640
    while True:
        font = ImageFont.truetype(font_file, max(10, int(rng.randint(16, 34) * scale)))
        text = lines[rng.randrange(len(lines))]
        x = rng.randint(4, size // 4)
        x0, y0, x1, y1 = draw.textbbox((x, y), text, font=font)
        while x1 > size - 4 and ' ' in text:
            text = text.rsplit(' ', 1)[0]
            x0, y0, x1, y1 = draw.textbbox((x, y), text, font=font)
        if y1 > size - 4:
            break
        if x1 <= size - 4:
            draw.text((x, y), text, font=font, fill=ink)
            boxes.append([x0, y0, x1, y1])
        y = y1 + rng.randint(int(4 * scale), int(40 * scale))
    return degrade(img, rng, nrng), boxes


# Wake words, by the openWakeWord model that listens for each, spelled as espeak-ng must read them
# to be heard (it says "mycroft" as one word the mycroft head never fires on; "my croft" it does).
WAKE_WORDS = {'hey_jarvis_v0.1': ['hey jarvis', 'Hey, Jarvis!', 'hey Jarvis'], 'alexa_v0.1': ['alexa', 'Alexa.', 'Alexa!'],
              'hey_mycroft_v0.1': ['hey my croft', 'Hey, my croft.', 'hey my Croft!']}
ACCENTS = ['en-us', 'en-gb', 'en-gb-x-rp']
# Calibration and test speakers differ: espeak-ng's voice variants split in two.
SPEAKERS = {'calib': ['m1', 'm3', 'f2', 'f4', 'croak'], 'test': ['m2', 'm4', 'm5', 'm7', 'f1', 'f3', 'f5', 'klatt']}
RATE, CLIP = 16000, 48000


def speak(text, rng, speakers):
    """One utterance by a random accent and speaker at a random speed and pitch, 16 kHz int16 samples."""
    voice = f'{ACCENTS[rng.randrange(len(ACCENTS))]}+{speakers[rng.randrange(len(speakers))]}'
    tts = subprocess.run(['espeak-ng', '-v', voice, '-s', str(rng.randint(160, 220)), '-p', str(rng.randint(25, 75)), '--stdout'],
                         input=text.encode(), check=True, capture_output=True).stdout  # on stdin: a line may start with '-'
    # espeak-ng writes 22.05 kHz; openWakeWord listens at 16 kHz.
    raw = subprocess.run(['sox', '-t', 'wav', '-', '-r', str(RATE), '-e', 'signed', '-b', '16', '-t', 'raw', '-'],
                         input=tts, check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.int16).astype(np.float32)


def speech_clip(text, wake, rng, nrng, speakers):
    """A 3 s clip: quiet room noise, the utterance at a random level; a wake word ends in the last second, as a detector hears it."""
    voice = speak(text, rng, speakers)[:CLIP - RATE // 5] * rng.uniform(0.3, 1.0)
    start = rng.randint(max(RATE // 5, CLIP - RATE - len(voice)), CLIP - len(voice) - RATE // 10) if wake else rng.randint(0, RATE // 2)
    clip = nrng.normal(0, rng.uniform(10, 120), CLIP)
    clip[start:start + len(voice)] += voice[:CLIP - start]
    return np.clip(clip, -32768, 32767)


def speech_set(name, pool, n_each, rng, nrng):
    """n_each clips of every wake word and n_each of other speech (manual lines), shuffled; their labels."""
    labels = [w for w in WAKE_WORDS for _ in range(n_each)] + ['none'] * n_each
    rng.shuffle(labels)
    clips = [speech_clip(rng.choice(WAKE_WORDS[l]) if l != 'none' else pool[rng.randrange(len(pool))], l != 'none', rng, nrng, SPEAKERS[name])
             for l in labels]
    save(f'{OUT}/wake/{name}_audio.npy', np.stack(clips))
    with open(f'{OUT}/wake/{name}.txt', 'w') as f:
        f.write(''.join(f'{l}\n' for l in labels))


def save(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.ascontiguousarray(array, dtype=np.float32))


def ocr_set(name, pool, n_lines, n_pages, page, seed):
    """Text lines for rec and cls, pages for det."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    if len(pool) < n_lines:
        die(f'only {len(pool)} usable {name} lines in the manual, {n_lines} wanted')
    texts = rng.sample(pool, n_lines)
    crops = [render_line(t, rng, nrng) for t in texts]
    save(f'{OUT}/rec/{name}.npy', np.stack([resize_norm(c, REC_WIDTH) for c in crops]))
    # The orientation classifier sees the same crops, half of them (at random) turned upside down.
    turned = [rng.random() < 0.5 for _ in crops]
    save(f'{OUT}/cls/{name}.npy', np.stack([resize_norm(c[::-1, ::-1] if t else c, CLS_WIDTH) for c, t in zip(crops, turned)]))
    pages = [render_page(page, pool, rng, nrng) for _ in range(n_pages)]
    save(f'{OUT}/det/{name}.npy', np.stack([det_norm(p, os.environ.get('DET_ORDER', 'bgr')) for p, _ in pages]))
    if name == 'test':
        with open(f'{OUT}/rec/test.txt', 'w', encoding='utf-8') as f:
            f.write(''.join(f'{t}\n' for t in texts))
        with open(f'{OUT}/cls/test.txt', 'w') as f:
            f.write(''.join(f'{int(t)}\n' for t in turned))
        with open(f'{OUT}/det/test.json', 'w') as f:
            json.dump({'size': page, 'boxes': [b for _, b in pages]}, f)
    print(f'make_data: {name}: {n_lines} lines from {len(pool)} candidates, {n_pages} pages of {page}x{page}', file=sys.stderr)


def main():
    """Makes every model's data, or only the parts named: make_data.py [ocr] [wake] [music]."""
    parts = sys.argv[1:] or ['ocr', 'wake', 'music']
    if 'music' in parts:
        # Needs neither text nor fonts: synthesised tones only.
        music_sets(os.path.join(OUT, 'pitch'))
        parts = [p for p in parts if p != 'music']
        if not parts:
            return
    if not os.path.exists(KEYS):
        die(f'{KEYS} missing (run bench/real-models/fetch.sh)')
    if not FONTS:
        die('no TrueType fonts under /usr/share/fonts/truetype (run bench/real-models/setup.sh)')
    if 'wake' in parts and not all(shutil.which(t) for t in ('espeak-ng', 'sox')):
        die('espeak-ng or sox missing (run bench/real-models/setup.sh)')
    with open(KEYS, encoding='utf-8') as f:
        alphabet = set(f.read().split('\n'))
    for name, chapters, n_lines, n_pages, page, seed in (('calib', CALIB_CHAPTERS, 300, 300, 320, 1),
                                                          ('test', range(30, 100), 500, 100, 640, 2)):
        pool = manual_lines(chapters, alphabet)
        if 'ocr' in parts:
            ocr_set(name, pool, n_lines, n_pages, page, seed)
        if 'wake' in parts:
            # Its own generators: the speech clips do not depend on whether the OCR sets were made in the same run.
            speech_set(name, pool, 20 if name == 'calib' else 50, random.Random(seed + 10), np.random.default_rng(seed + 10))
    if 'wake' in parts:
        # The embedding model's inputs are mel frames, which openWakeWord's own ONNX front end computes: onnxruntime is Node's here.
        subprocess.run(['npx', 'tsx', os.path.join(HERE, 'speechFeatures.ts')], check=True, cwd=os.path.join(HERE, '../..'))


if __name__ == '__main__':
    main()
