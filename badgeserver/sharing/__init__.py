"""Sharing a credential: share and LinkedIn links, the embed snippet and oEmbed (links), the social card
and QR codes (images). Pure: strings and bytes in, strings and bytes out; no Flask, no store."""
