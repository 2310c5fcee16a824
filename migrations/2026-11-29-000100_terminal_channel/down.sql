DELETE FROM bot_chats WHERE channel = 'terminal';
ALTER TABLE bot_chats DROP CONSTRAINT bot_chats_channel_check;
ALTER TABLE bot_chats ADD CONSTRAINT bot_chats_channel_check
    CHECK (channel IN ('telegram', 'wechat', 'sms'));
