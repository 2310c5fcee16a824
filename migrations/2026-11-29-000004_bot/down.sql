DROP TABLE bot_queue;
DROP TABLE bot_binding_codes;
DROP TABLE bot_chats;
