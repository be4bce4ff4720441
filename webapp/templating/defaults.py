"""Built-in message templates, per message type, channel and language.

A message type is "<kind>.<status>" (order.cancelled, invoice.closed). Each entry holds a
subject and body for email, and a body for SMS. Variables: store, customer, order, note.
"""
from __future__ import annotations

# Wording per status, per language: (email subject, one-line summary used by email and SMS).
_ORDER_WORDS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "initiated": ("We received your order {{ order.number }}", "we received your order {{ order.number }}."),
        "sent_for_processing": ("Order {{ order.number }} is confirmed",
                                "your order {{ order.number }} is confirmed and on its way to our team."),
        "processing": ("We're preparing order {{ order.number }}", "we're preparing your order {{ order.number }}."),
        "ready": ("Order {{ order.number }} is ready", "your order {{ order.number }} is ready{% if order.tracking "
                  "and order.tracking.number %} (tracking: {{ order.tracking.number }}){% endif %}."),
        "delivered": ("Order {{ order.number }} was delivered", "your order {{ order.number }} was delivered."),
        "cancelled": ("Order {{ order.number }} was cancelled", "your order {{ order.number }} was cancelled."),
        "returned": ("Return of order {{ order.number }} received",
                     "we received the return of your order {{ order.number }}."),
    },
    "fr": {
        "initiated": ("Commande {{ order.number }} reçue", "nous avons bien reçu votre commande {{ order.number }}."),
        "sent_for_processing": ("Commande {{ order.number }} confirmée",
                                "votre commande {{ order.number }} est confirmée."),
        "processing": ("Commande {{ order.number }} en préparation",
                       "votre commande {{ order.number }} est en préparation."),
        "ready": ("Commande {{ order.number }} prête", "votre commande {{ order.number }} est prête."),
        "delivered": ("Commande {{ order.number }} livrée", "votre commande {{ order.number }} a été livrée."),
        "cancelled": ("Commande {{ order.number }} annulée", "votre commande {{ order.number }} a été annulée."),
        "returned": ("Retour de la commande {{ order.number }} reçu",
                     "nous avons reçu le retour de votre commande {{ order.number }}."),
    },
    "de": {
        "initiated": ("Bestellung {{ order.number }} eingegangen",
                      "wir haben Ihre Bestellung {{ order.number }} erhalten."),
        "sent_for_processing": ("Bestellung {{ order.number }} bestätigt",
                                "Ihre Bestellung {{ order.number }} ist bestätigt."),
        "processing": ("Bestellung {{ order.number }} in Bearbeitung",
                       "wir bereiten Ihre Bestellung {{ order.number }} vor."),
        "ready": ("Bestellung {{ order.number }} ist bereit", "Ihre Bestellung {{ order.number }} ist bereit."),
        "delivered": ("Bestellung {{ order.number }} zugestellt",
                      "Ihre Bestellung {{ order.number }} wurde zugestellt."),
        "cancelled": ("Bestellung {{ order.number }} storniert",
                      "Ihre Bestellung {{ order.number }} wurde storniert."),
        "returned": ("Rücksendung zu {{ order.number }} erhalten",
                     "wir haben die Rücksendung Ihrer Bestellung {{ order.number }} erhalten."),
    },
    "es": {
        "initiated": ("Recibimos tu pedido {{ order.number }}", "recibimos tu pedido {{ order.number }}."),
        "sent_for_processing": ("Pedido {{ order.number }} confirmado",
                                "tu pedido {{ order.number }} está confirmado."),
        "processing": ("Preparando el pedido {{ order.number }}", "estamos preparando tu pedido {{ order.number }}."),
        "ready": ("Pedido {{ order.number }} listo", "tu pedido {{ order.number }} está listo."),
        "delivered": ("Pedido {{ order.number }} entregado", "tu pedido {{ order.number }} fue entregado."),
        "cancelled": ("Pedido {{ order.number }} cancelado", "tu pedido {{ order.number }} fue cancelado."),
        "returned": ("Devolución del pedido {{ order.number }} recibida",
                     "recibimos la devolución de tu pedido {{ order.number }}."),
    },
}

_INVOICE_WORDS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "closed": ("Invoice {{ order.number }} is paid", "your invoice {{ order.number }} is closed. Thank you!"),
        "cancelled": ("Invoice {{ order.number }} was cancelled", "your invoice {{ order.number }} was cancelled."),
    },
    "fr": {
        "closed": ("Facture {{ order.number }} réglée", "votre facture {{ order.number }} est réglée. Merci !"),
        "cancelled": ("Facture {{ order.number }} annulée", "votre facture {{ order.number }} a été annulée."),
    },
    "de": {
        "closed": ("Rechnung {{ order.number }} beglichen", "Ihre Rechnung {{ order.number }} ist beglichen. Danke!"),
        "cancelled": ("Rechnung {{ order.number }} storniert", "Ihre Rechnung {{ order.number }} wurde storniert."),
    },
    "es": {
        "closed": ("Factura {{ order.number }} pagada", "tu factura {{ order.number }} está cerrada. ¡Gracias!"),
        "cancelled": ("Factura {{ order.number }} cancelada", "tu factura {{ order.number }} fue cancelada."),
    },
}

_GREETING = {"en": "Hi", "fr": "Bonjour", "de": "Hallo", "es": "Hola"}
_NOTE = {"en": "Note from {{ store.name }}", "fr": "Message de {{ store.name }}",
         "de": "Nachricht von {{ store.name }}", "es": "Nota de {{ store.name }}"}

_EMAIL_HTML = """<p>{greeting} {{{{ customer.first_name or customer.name }}}},</p>
<p>{summary_cap}</p>
{{% if note %}}<p><strong>{note_label}:</strong> {{{{ note }}}}</p>{{% endif %}}
{{% if order.lines %}}<table>{{% for line in order.lines %}}<tr><td>{{{{ line.quantity }}}} × {{{{ line.name }}}}</td>
<td style="text-align:right">{{{{ line.price }}}} {{{{ order.currency }}}}</td></tr>{{% endfor %}}</table>{{% endif %}}
<p>— {{{{ store.name }}}}</p>"""

_SMS = "{{{{ store.name }}}}: {summary_cap}{{% if note %}} {{{{ note }}}}{{% endif %}}"


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _build() -> dict[tuple[str, str, str], dict[str, str]]:
    templates: dict[tuple[str, str, str], dict[str, str]] = {}
    for kind, table in (("order", _ORDER_WORDS), ("invoice", _INVOICE_WORDS)):
        for locale, statuses in table.items():
            for status, (subject, summary) in statuses.items():
                message_type = f"{kind}.{status}"
                words = {"greeting": _GREETING[locale], "summary_cap": _capitalize(summary),
                         "note_label": _NOTE[locale]}
                templates[(message_type, "email", locale)] = {"subject": subject,
                                                               "body": _EMAIL_HTML.format(**words)}
                short = _SMS.format(**words)
                templates[(message_type, "sms", locale)] = {"subject": "", "body": short}
                templates[(message_type, "whatsapp", locale)] = {"subject": "", "body": short}
                # Push and in-app show the subject as the title above the short text.
                for channel in ("push", "in_app"):
                    templates[(message_type, channel, locale)] = {"subject": subject, "body": short}
    return templates


DEFAULT_TEMPLATES = _build()
