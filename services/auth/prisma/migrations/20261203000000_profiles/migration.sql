-- What a person says about themself: a display name and a short bio (empty when not set).
ALTER TABLE "users" ADD COLUMN "display_name" TEXT NOT NULL DEFAULT '';
ALTER TABLE "users" ADD COLUMN "bio" TEXT NOT NULL DEFAULT '';
