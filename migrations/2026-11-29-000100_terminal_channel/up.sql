-- The terminal channel (#10): `qianlink chat --phone` plays a worker through
-- the bot's conversation core without Telegram, as chat "terminal".
ALTER TABLE bot_chats DROP CONSTRAINT bot_chats_channel_check;
ALTER TABLE bot_chats ADD CONSTRAINT bot_chats_channel_check
    CHECK (channel IN ('telegram', 'wechat', 'sms', 'terminal'));
