"""Shop receipts with Faker-made store names, towns and cashiers: totals, prices, quantities.

Faker is seeded per receipt from the chat's RNG (``seed_instance``), with the en_US locale whose output has
been stable across Faker releases; dates are drawn from the RNG directly because Faker's date helpers depend
on today's date. Amounts are kept in cents in the spec so sums are exact.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Any

from PIL import Image

from generator.core.instructions.facts import ImageFacts
from generator.generation.sources import drawing
from generator.generation.sources.base import join_names
from generator.generation.sources.families import Ask, Family, unique_best, yes_no

PRODUCTS: dict[str, int] = {
    "Coffee": 450, "Bagel": 225, "Muffin": 275, "Milk": 189, "Bread": 349, "Apples": 399, "Cheese": 625,
    "Butter": 429, "Eggs": 379, "Yogurt": 129, "Juice": 299, "Pasta": 189, "Rice": 349, "Honey": 799,
    "Tea": 529, "Cookies": 319, "Bananas": 149, "Soap": 249, "Candles": 899, "Napkins": 219,
}
WIDTH, HEIGHT = 384, 512
PAPER = (252, 251, 246)
BACKDROP = (196, 200, 206)
PAPER_LEFT, PAPER_RIGHT = 28, WIDTH - 28
TEXT_LEFT, TEXT_RIGHT = PAPER_LEFT + 16, PAPER_RIGHT - 16


#: The Faker providers the receipts use (company, city, state_abbr, first_name, and what their formats call).
FAKER_PROVIDERS = ("faker.providers.person", "faker.providers.address", "faker.providers.company")


@lru_cache(maxsize=1)
def _faker():
    """An en_US Faker generator with only :data:`FAKER_PROVIDERS`.

    ``Faker("en_US")`` instantiates all of Faker's two dozen providers (about 25 ms per process) behind a proxy
    that adds about 100 microseconds to every receipt; the methods used here resolve to the same en_US providers
    either way, so a seeded generator gives the same names.
    """
    from faker import Factory

    return Factory.create("en_US", providers=list(FAKER_PROVIDERS))


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def line_total(item: dict[str, Any]) -> int:
    return item["qty"] * item["unit_cents"]


class Receipt(Family):
    name = "receipt"
    description = "Shop receipts with Faker store names; totals, prices, quantities, cashier."
    question_types = ("number", "word", "yes/no", "sequence")

    def sample(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        fake = _faker()
        fake.seed_instance(rng.getrandbits(63))
        store, city, state, cashier = fake.company(), fake.city(), fake.state_abbr(), fake.first_name()
        n = {1: rng.randint(3, 4), 2: rng.randint(4, 6)}.get(difficulty, rng.randint(6, 8))
        items = []
        for product in rng.sample(sorted(PRODUCTS), n):
            unit = max(49, PRODUCTS[product] + 10 * rng.randint(-10, 10))
            qty = 1 if difficulty <= 1 else rng.choice((1, 1, 2, 3))
            items.append({"name": product, "qty": qty, "unit_cents": unit})
        return {"store": store, "city": f"{city}, {state}", "cashier": cashier,
                "date": [rng.randint(2023, 2027), rng.randint(1, 12), rng.randint(1, 28)],
                "items": items, "font_size": 15 if difficulty <= 2 else 13}

    def problems(self, spec: dict[str, Any]) -> list[str]:
        issues = []
        if drawing.text_size(spec["store"], 17, True)[0] > TEXT_RIGHT - TEXT_LEFT:
            issues.append("store name does not fit")
        if drawing.text_size(spec["city"], 13)[0] > TEXT_RIGHT - TEXT_LEFT:
            issues.append("town does not fit")
        names = [item["name"] for item in spec["items"]]
        if len(set(names)) != len(names):
            issues.append("an item is listed twice")
        return issues

    def render(self, spec: dict[str, Any]) -> Image.Image:
        image, draw = drawing.canvas(WIDTH, HEIGHT, BACKDROP)
        size = spec["font_size"]
        row = size + 9
        height = 200 + row * len(spec["items"])
        top = (HEIGHT - height) // 2
        draw.rectangle((PAPER_LEFT, top, PAPER_RIGHT, top + height), fill=PAPER)
        mid = WIDTH / 2
        y = top + 26
        drawing.draw_text_centered(image, (mid, y), spec["store"], 17, bold=True)
        drawing.draw_text_centered(image, (mid, y + 24), spec["city"], 13)
        year, month, day = spec["date"]
        drawing.put_text(image, (TEXT_LEFT, y + 50), f"Date: {month:02d}/{day:02d}/{year}", 13, anchor="lm")
        drawing.put_text(image, (TEXT_RIGHT, y + 50), f"Cashier: {spec['cashier']}", 13, anchor="rm")
        y += 72
        draw.line((TEXT_LEFT, y, TEXT_RIGHT, y), fill=drawing.INK)
        y += 4
        for item in spec["items"]:
            y += row
            drawing.put_text(image, (TEXT_LEFT, y), item["name"], size, anchor="ls")
            drawing.put_text(image, (TEXT_LEFT + 160, y), f"{item['qty']} x {money(item['unit_cents'])}", size,
                             anchor="rs")
            drawing.put_text(image, (TEXT_RIGHT, y), money(line_total(item)), size, anchor="rs")
        y += 14
        draw.line((TEXT_LEFT, y, TEXT_RIGHT, y), fill=drawing.INK)
        y += 26
        total = sum(line_total(item) for item in spec["items"])
        drawing.put_text(image, (TEXT_LEFT, y), "TOTAL", size + 2, bold=True, anchor="ls")
        drawing.put_text(image, (TEXT_RIGHT, y), f"${money(total)}", size + 2, bold=True, anchor="rs")
        drawing.draw_text_centered(image, (mid, y + 30), "Thank you!", 13)
        return image

    def facts(self, spec: dict[str, Any]) -> ImageFacts:
        names = tuple(item["name"] for item in spec["items"])
        return ImageFacts(kind="receipt", title=spec["store"], categories=names, category_pool=tuple(sorted(PRODUCTS)),
                          items=names, total=money(sum(line_total(item) for item in spec["items"])),
                          count=len(names), count_noun="products")

    def questions(self, spec: dict[str, Any], name: str, rng: random.Random) -> list[Ask]:
        items = spec["items"]
        names = [item["name"] for item in items]
        totals = [line_total(item) for item in items]
        asks: list[Ask] = [
            (f"What is the total amount on the receipt in {name}, in dollars?", money(sum(totals)), "number"),
            (f"How many different products are listed on the receipt in {name}?", str(len(items)), "number"),
            (f"What is the first name of the cashier on the receipt in {name}?", spec["cashier"], "word"),
            (f"On which day of the month was the purchase in {name} made?", str(spec["date"][2]), "number"),
            (f"List the products on the receipt in {name} in the order they appear.",
             ", ".join(names), "sequence"),
        ]
        k = rng.randrange(len(items))
        asks.append((f"On the receipt in {name}, what is the line total for {names[k]}, in dollars?",
                     money(totals[k]), "number"))
        k = rng.randrange(len(items))
        asks.append((f"How many units of {names[k]} were bought according to the receipt in {name}?",
                     str(items[k]["qty"]), "number"))
        top = unique_best(names, totals)
        if top:
            asks.append((f"Which product has the highest line total on the receipt in {name}?", top, "word"))
        other = rng.choice(sorted(PRODUCTS))
        # "Does ... list X" agrees with any product name, singular ("Cheese") or plural ("Bananas").
        asks.append((f"Does the receipt in {name} list {other}?", yes_no(other in names), "yes/no"))
        return asks

    def compare(self, specs: list[dict[str, Any]], names: list[str], rng: random.Random) -> list[Ask]:
        both = join_names(names)
        word = "higher" if len(names) == 2 else "highest"
        totals = [sum(line_total(item) for item in s["items"]) for s in specs]
        asks: list[Ask] = [(f"What is the combined total of the receipts in {both}, in dollars?",
                            money(sum(totals)), "number")]
        winner = unique_best(names, totals)
        if winner:
            asks.append((f"Which of {both} shows the receipt with the {word} total?", winner, "word"))
        counts = [len(s["items"]) for s in specs]
        winner = unique_best(names, counts)
        if winner:
            asks.append((f"Which of {both} lists {'more' if len(names) == 2 else 'the most'} products?", winner,
                         "word"))
        return asks
