"""Services: pure logic with no Telegram types in them."""
