"""Telegram Stars in the offline Bot API: invoices, checkout, subscriptions and refunds.

Bot API methods (mixed into ``BotApi``): sendInvoice, createInvoiceLink,
answerPreCheckoutQuery, refundStarPayment, editUserStarSubscription.

The simulated user's side (``TelegramApiDouble`` exposes these):

- ``pay`` an invoice message or an invoice link: the bot gets a ``pre_checkout_query``
  and has ``pre_checkout_timeout`` (Telegram: 10 s) to answer. Confirmed in time, the
  Stars are charged and a ``successful_payment`` message arrives; refused, the user sees
  the bot's error_message; unanswered, the payment fails and a late answer is refused
  with ``query is too old``.
- ``renew_subscription``: a subscription's next period is charged (a new
  ``successful_payment`` with ``is_recurring``), unless the user or the bot cancelled it
  or its payment was refunded; then nothing arrives and the subscription ends.
- ``cancel_subscription``: the user cancels in Telegram's settings; the bot is not told.

What Telegram enforces and the double too: Stars only (currency ``XTR``, an empty
provider token, exactly one price, no tips); title 1-32 characters, description 1-255,
payload 1-128 bytes; an invoice's own keyboard must start with a pay button; one-off
invoices up to 100,000 Stars, subscriptions up to 10,000 a period, and the period is
exactly 30 days (2592000 s); refunds of unknown charges (``CHARGE_NOT_FOUND``) or of a
charge refunded before (``CHARGE_ALREADY_REFUNDED``) are refused; a refund posts a
``refunded_payment`` message to the user's chat, as Telegram does.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import secrets
import time

from sandbox.telegram_state import ChatState, SandboxState, bad_request

STARS = "XTR"
SUBSCRIPTION_PERIOD = 2592000
MAX_STARS = 100_000
MAX_SUBSCRIPTION_STARS = 10_000
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
LINK_PREFIX = "https://t.me/$"
PAYMENT_METHODS = (
    "sendInvoice",
    "createInvoiceLink",
    "answerPreCheckoutQuery",
    "refundStarPayment",
    "editUserStarSubscription",
)


@dataclasses.dataclass
class Invoice:
    title: str
    description: str
    payload: str
    amount: int
    subscription_period: int | None = None

    def as_message_invoice(self) -> dict:
        # What a Message carries: the payload stays with the bot and Telegram.
        return {
            "title": self.title,
            "description": self.description,
            "start_parameter": "",
            "currency": STARS,
            "total_amount": self.amount,
        }


@dataclasses.dataclass
class Charge:
    charge_id: str
    user_id: int
    invoice: Invoice
    refunded: bool = False
    subscription: str | None = None  # the first charge id of its subscription


@dataclasses.dataclass
class Subscription:
    charge_id: str  # of its first payment: how the bot names it
    user_id: int
    invoice: Invoice
    link: str
    expires: int  # unix time
    canceled_by_user: bool = False
    canceled_by_bot: bool = False
    ended: bool = False

    @property
    def renews(self) -> bool:
        return not (self.canceled_by_user or self.canceled_by_bot or self.ended)


class StarLedger:
    """The payment side of the sandbox's world (under the state's lock)."""

    def __init__(self) -> None:
        self.invoice_messages: dict[tuple[int, int], Invoice] = {}
        self.links: dict[str, Invoice] = {}
        self.checkouts: dict[str, dict] = {}
        self.charges: dict[str, Charge] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self._numbers = itertools.count(1)

    def new_charge_id(self) -> str:
        # Telegram's Stars charge ids are opaque strings starting with "stx".
        return f"stx{secrets.token_urlsafe(24)}"

    def number(self) -> int:
        return next(self._numbers)


def _stars_invoice(p: dict, *, subscription: bool) -> Invoice:
    title, description = str(p.get("title") or ""), str(p.get("description") or "")
    payload = str(p.get("payload") or "")
    if not 1 <= len(title) <= 32:
        raise bad_request("INVOICE_TITLE_INVALID" if title else "title is empty")
    if not 1 <= len(description) <= 255:
        raise bad_request("INVOICE_DESCRIPTION_INVALID" if description else "description is empty")
    if not 1 <= len(payload.encode()) <= 128:
        raise bad_request("INVOICE_PAYLOAD_INVALID")
    if p.get("currency") != STARS or p.get("provider_token"):
        # The sandbox has no payment providers: digital goods are sold for Stars.
        raise bad_request("PAYMENT_PROVIDER_INVALID")
    if p.get("max_tip_amount") or p.get("suggested_tip_amounts"):
        raise bad_request("tips are not supported for payments in Telegram Stars")
    prices = p.get("prices")
    if not isinstance(prices, list) or not all(isinstance(price, dict) for price in prices):
        raise bad_request("can't parse prices JSON object")
    if len(prices) != 1 or not str(prices[0].get("label") or ""):
        raise bad_request("STARS_INVOICE_INVALID")
    amount = prices[0].get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= MAX_STARS:
        raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
    period = p.get("subscription_period")
    if period is not None and not subscription:
        raise bad_request("subscription_period is supported only by createInvoiceLink")
    if period is not None:
        if period != SUBSCRIPTION_PERIOD:
            raise bad_request("SUBSCRIPTION_PERIOD_INVALID")
        if amount > MAX_SUBSCRIPTION_STARS:
            raise bad_request("SUBSCRIPTION_AMOUNT_INVALID")
    return Invoice(title, description, payload, amount, period)


class PaymentMethods:
    """Mixed into ``BotApi``: its state, config and sending helpers are there."""

    state: SandboxState
    ledger: StarLedger

    # -- Bot API -------------------------------------------------------------------

    def m_sendInvoice(self, p: dict) -> dict:
        chat = self._writable_chat(p)  # type: ignore[attr-defined]
        invoice = _stars_invoice(p, subscription=False)
        rows = (p.get("reply_markup") or {}).get("inline_keyboard") or []
        if rows and not (rows[0] and rows[0][0].get("pay")):
            raise bad_request("REPLY_MARKUP_BUY_EMPTY")
        content = {"invoice": invoice.as_message_invoice()}
        message = self._deliver(chat, p, content)  # type: ignore[attr-defined]
        self.ledger.invoice_messages[(chat.chat["id"], message["message_id"])] = invoice
        return message

    def m_createInvoiceLink(self, p: dict) -> str:
        invoice = _stars_invoice(p, subscription=True)
        slug = secrets.token_urlsafe(12)
        self.ledger.links[slug] = invoice
        return LINK_PREFIX + slug

    def m_answerPreCheckoutQuery(self, p: dict) -> bool:
        record = self.ledger.checkouts.get(str(p.get("pre_checkout_query_id") or ""))
        if record is None or "answer" in record or record.get("expired"):
            raise bad_request(QUERY_TOO_OLD)
        ok = bool(p.get("ok"))
        error_message = str(p.get("error_message") or "")
        if not ok and not error_message:
            raise bad_request("ERROR_MESSAGE_EMPTY")
        record["answer"] = {"ok": ok, "error_message": error_message}
        self.state.changed()
        return True

    def m_refundStarPayment(self, p: dict) -> bool:
        user_id = p.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("invalid user_id specified")
        charge = self.ledger.charges.get(str(p.get("telegram_payment_charge_id") or ""))
        if charge is None or charge.user_id != user_id:
            raise bad_request("CHARGE_NOT_FOUND")
        if charge.refunded:
            raise bad_request("CHARGE_ALREADY_REFUNDED")
        charge.refunded = True
        if charge.subscription in self.ledger.subscriptions:
            # A refunded subscription stops: no further period is charged.
            self.ledger.subscriptions[charge.subscription].ended = True
        refunded = {
            "currency": STARS,
            "total_amount": charge.invoice.amount,
            "invoice_payload": charge.invoice.payload,
            "telegram_payment_charge_id": charge.charge_id,
        }
        self._post_as_user(user_id, {"refunded_payment": refunded})
        return True

    def m_editUserStarSubscription(self, p: dict) -> bool:
        user_id = p.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("invalid user_id specified")
        subscription = self.ledger.subscriptions.get(str(p.get("telegram_payment_charge_id") or ""))
        if subscription is None or subscription.user_id != user_id:
            raise bad_request("CHARGE_NOT_FOUND")
        if "is_canceled" not in p:
            raise bad_request("is_canceled is not specified")
        canceled = p["is_canceled"] in (True, "true", "True", "1", 1)
        if not canceled and subscription.canceled_by_user:
            # Only a subscription the bot cancelled can be re-enabled by the bot.
            raise bad_request("SUBSCRIPTION_CANCELED_BY_USER")
        subscription.canceled_by_bot = canceled
        self.state.changed()
        return True

    # -- the user's side -----------------------------------------------------------

    def pay(
        self,
        user_id: int,
        *,
        timeout: float,
        chat_id: int | None = None,
        message_id: int | None = None,
        link: str | None = None,
    ) -> dict:
        """Pay an invoice message or link as ``user_id``; blocks until the bot answers
        the pre-checkout query or the deadline passes. Call with the state's lock held."""
        invoice, link_slug = self._invoice_to_pay(user_id, chat_id, message_id, link)
        user = self.state.users[user_id]
        query_id = str(secrets.randbits(62))
        record: dict = {"user_id": user_id, "created": time.monotonic()}
        self.ledger.checkouts[query_id] = record
        query = {
            "id": query_id,
            "from": user,
            "currency": STARS,
            "total_amount": invoice.amount,
            "invoice_payload": invoice.payload,
        }
        if self.state.wants("pre_checkout_query"):
            self.state.push_update("pre_checkout_query", query)
        answer = self.state.wait(lambda: record.get("answer"), timeout)
        if not answer:
            record["expired"] = True
            self._notice(user_id, {"type": "payment", "status": "expired"})
            return {"status": "expired", "query_id": query_id}
        if not answer["ok"]:
            notice = {"status": "refused", "error_message": answer["error_message"]}
            self._notice(user_id, {"type": "payment"} | notice)
            return notice | {"query_id": query_id}
        return self._charge(user, invoice, link_slug) | {"query_id": query_id}

    def _invoice_to_pay(
        self, user_id: int, chat_id: int | None, message_id: int | None, link: str | None
    ) -> tuple[Invoice, str | None]:
        if user_id not in self.state.users:
            raise ValueError(f"unknown user {user_id}")
        if link is not None:
            slug = link.removeprefix(LINK_PREFIX).removeprefix("$")
            invoice = self.ledger.links.get(slug)
            if invoice is None:
                raise ValueError("this invoice link is not valid")
            for subscription in self.ledger.subscriptions.values():
                mine = subscription.link == slug and subscription.user_id == user_id
                if mine and subscription.renews and subscription.expires > time.time():
                    raise ValueError("you are already subscribed")
            return invoice, slug
        invoice = self.ledger.invoice_messages.get((chat_id or user_id, message_id or 0))
        if invoice is None:
            raise ValueError(f"message {message_id} is not an invoice")
        return invoice, None

    def _charge(self, user: dict, invoice: Invoice, link_slug: str | None) -> dict:
        charge = Charge(self.ledger.new_charge_id(), user["id"], invoice)
        self.ledger.charges[charge.charge_id] = charge
        payment = self._successful_payment(charge)
        if invoice.subscription_period:
            expires = int(time.time()) + invoice.subscription_period
            subscription = Subscription(
                charge.charge_id, user["id"], invoice, link_slug or "", expires
            )
            self.ledger.subscriptions[charge.charge_id] = subscription
            charge.subscription = charge.charge_id
            payment |= {"subscription_expiration_date": expires, "is_first_recurring": True}
        message = self._post_as_user(user["id"], {"successful_payment": payment})
        return {"status": "paid", "charge_id": charge.charge_id, "message": message}

    def _successful_payment(self, charge: Charge) -> dict:
        return {
            "currency": STARS,
            "total_amount": charge.invoice.amount,
            "invoice_payload": charge.invoice.payload,
            "telegram_payment_charge_id": charge.charge_id,
            "provider_payment_charge_id": f"{charge.user_id}_{self.ledger.number()}",
        }

    def renew(self, user_id: int, charge_id: str | None = None) -> dict:
        """The next period of a subscription (the user's latest, or by first charge id)."""
        subscription = self._subscription(user_id, charge_id)
        if not subscription.renews:
            subscription.ended = True
            self.state.changed()
            return {"status": "ended", "subscription": subscription.charge_id}
        charge = Charge(
            self.ledger.new_charge_id(), user_id, subscription.invoice, subscription.charge_id
        )
        self.ledger.charges[charge.charge_id] = charge
        subscription.expires += SUBSCRIPTION_PERIOD
        payment = self._successful_payment(charge) | {
            "subscription_expiration_date": subscription.expires,
            "is_recurring": True,
        }
        message = self._post_as_user(user_id, {"successful_payment": payment})
        return {"status": "paid", "charge_id": charge.charge_id, "message": message}

    def cancel(self, user_id: int, charge_id: str | None = None) -> dict:
        subscription = self._subscription(user_id, charge_id)
        subscription.canceled_by_user = True
        self.state.changed()
        return {"subscription": subscription.charge_id, "expires": subscription.expires}

    def _subscription(self, user_id: int, charge_id: str | None) -> Subscription:
        mine = [s for s in self.ledger.subscriptions.values() if s.user_id == user_id]
        if charge_id is not None:
            mine = [s for s in mine if s.charge_id == charge_id]
        if not mine:
            raise ValueError(f"user {user_id} has no such subscription")
        return max(mine, key=lambda s: s.expires)

    def subscriptions_of(self, user_id: int) -> list[dict]:
        return [
            {
                "charge_id": s.charge_id,
                "title": s.invoice.title,
                "amount": s.invoice.amount,
                "expires": s.expires,
                "renews": s.renews,
            }
            for s in self.ledger.subscriptions.values()
            if s.user_id == user_id
        ]

    # -- helpers -------------------------------------------------------------------

    def _post_as_user(self, user_id: int, content: dict) -> dict:
        """A service message in the user's private chat, delivered to the bot."""
        chat: ChatState = self.state.chats[user_id]
        message = self.state.add_message(chat, self.state.users[user_id], content)
        if self.state.wants("message"):
            self.state.push_update("message", message)
        return copy.deepcopy(message)

    def _notice(self, user_id: int, notice: dict) -> None:
        chat = self.state.chats.get(user_id)
        if chat is not None:
            chat.notices.append(notice | {"user_id": user_id, "seq": self.state.changed()})
